"""The documented flow against ``make run``'s stack over real HTTP: curl verbatim, then Python."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from lambdas.common import edge
from testkit.local_stack import TENANTS, RunningStack, free_port, start_stack

pytestmark = pytest.mark.e2e

USERS_CSV = (
    "user_username,user_name,user_password,user_email,user_language,user_active\n"
    "jdoe,John Doe,Secret#Pass1,jdoe@example.org,en-US,TRUE\n"
    "asmith,Ann Smith,Other#Pass2,asmith@example.org,fr-FR,FALSE\n"
)
TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"}
CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def curl(*args: str) -> Any:
    done = subprocess.run(
        [CURL or "curl", "--silent", "--show-error", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def wait_terminal(stack: RunningStack, token: str, ref: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{stack.base_url}/api/v1/status/{ref}", headers=auth(token), timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        if result["status"] in TERMINAL or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(
    stack: RunningStack, token: str, name: str, content: bytes, part_type: str = "text/csv"
) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/api/v1/upload", headers=auth(token), files={"file": (name, content, part_type)}, timeout=60
    )


def csv_of_size(size: int) -> bytes:
    """A groups file of ``size`` bytes in few rows (descriptions near the 4,096-character cell limit):
    these tests are about bytes on the wire, and a few thousand rows import in seconds."""
    header = b"group_name,group_description\n"
    rows = bytearray(header)
    i = 0
    while len(rows) < size:
        rows += b"group-%08d,%s\n" % (i, b"d" * 4000)
        i += 1
    return bytes(rows)


@needs_curl
@pytest.mark.parametrize("path", ["/api/v1/oauth2/tokens", "/api/v1/upload/v1/oauth2/tokens"])
def test_documented_token_command_works_at_both_paths(stack, path):
    answer = curl(
        "--location", "--request", "POST", f"{stack.base_url}{path}",
        "--form", "grant_type=client_credentials",
        "--form", "client_id=tenant-one",
        "--form", f"client_secret={TENANTS['tenant-one']}",
    )  # fmt: skip
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert answer["access_token"].count(".") == 2


@needs_curl
@pytest.mark.parametrize("path", ["/api/v1/upload", "/api/v1/upload/api/v1/upload"])
def test_documented_upload_command_imports_and_reports(stack, path, tmp_path: Path):
    # Given a token and a users.csv, uploaded with the documented curl command
    token = stack.token()
    (tmp_path / "users.csv").write_text(USERS_CSV)
    answer = curl(
        "--location", "--request", "POST", f"{stack.base_url}{path}",
        "--header", f"Authorization: Bearer {token}",
        "--header", "Content-Type: multipart/form-data",
        "--form", f"file=@{tmp_path / 'users.csv'}",
    )  # fmt: skip
    ref = answer["result"]["referenceId"]
    assert answer["result"]["message"] == f"File uploaded to import-csv/pending/{ref}.csv"
    # When the import finishes
    result = wait_terminal(stack, token, ref)
    # Then both users are created and the report is downloadable through the signed URL
    assert result["status"] == "COMPLETED", result
    assert result["template"] == "users"
    assert result["summary"]["rows"] == 2 and result["summary"]["failed"] == 0
    download = curl("--header", f"Authorization: Bearer {token}", f"{stack.base_url}/api/v1/download/{ref}")
    report = requests.get(download["result"]["url"], timeout=10)
    assert report.status_code == 200
    assert report.text.splitlines()[0] == "row,key,outcome,code,column,message"
    assert "Secret#Pass1" not in report.text


def test_read_scope_token_is_forbidden_on_upload(stack):
    token = stack.token(scope="rostering/read")
    response = upload(stack, token, "users.csv", USERS_CSV.encode())
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_missing_token_is_401_with_www_authenticate(stack):
    response = requests.post(f"{stack.base_url}/api/v1/upload", files={"file": ("u.csv", b"a\n")}, timeout=10)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_unknown_route_is_404_not_found(stack):
    response = requests.get(f"{stack.base_url}/api/v2/anything", timeout=10)
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


def test_tenants_cannot_see_each_others_status_or_report(stack):
    one, two = stack.token("tenant-one"), stack.token("tenant-two")
    ref = upload(stack, one, "users.csv", USERS_CSV.encode()).json()["result"]["referenceId"]
    assert wait_terminal(stack, one, ref)["status"] in TERMINAL
    for route in ("status", "download", "upload/api/v1/status", "upload/api/v1/download"):
        response = requests.get(f"{stack.base_url}/api/v1/{route}/{ref}", headers=auth(two), timeout=10)
        assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND"), route


def test_3mb_upload_goes_direct(stack):
    response = upload(stack, stack.token(), "groups.csv", csv_of_size(3_000_000))
    assert response.status_code == 200, response.text


def test_5mb_upload_is_413_from_the_event_cap_and_imports_through_gzip_and_presigned(stack):
    token = stack.token()
    content = csv_of_size(5_000_000)
    # Direct: over the 6 MB Lambda event once base64-encoded
    direct = upload(stack, token, "groups.csv", content)
    assert (direct.status_code, direct.json()["code"]) == (413, "FILE_TOO_LARGE")
    assert direct.json() == json.loads(edge.edge_refusal("POST", {"content-length": "5000000"})[1])
    # Gzip: accepted and imported
    zipped = upload(stack, token, "groups.csv.gz", gzip.compress(content), "application/gzip")
    assert zipped.status_code == 200, zipped.text
    assert wait_terminal(stack, token, zipped.json()["result"]["referenceId"], timeout=240)["status"] == "COMPLETED"
    # Presigned POST: fields plus the file part, last
    grant = requests.post(
        f"{stack.base_url}/api/v1/upload/url", headers=auth(token), json={"fileName": "groups.csv"}, timeout=10
    ).json()["result"]
    posted = requests.post(grant["url"], data=grant["fields"], files={"file": ("groups.csv", content)}, timeout=60)
    assert posted.status_code in (200, 204), posted.text
    assert wait_terminal(stack, token, grant["referenceId"], timeout=240)["status"] == "COMPLETED"


def test_a_direct_body_over_the_event_cap_is_the_documented_413_json_before_any_auth(stack):
    # Exactly what the deployed CloudFront Function answers (docs/DEPLOY.md), token or not
    body = b"x" * (edge.MAX_BASE64_BODY + 1)
    for headers in ({}, {"Authorization": f"Bearer {stack.token()}"}):
        response = requests.post(
            f"{stack.base_url}/api/v1/upload",
            data=body,
            headers={**headers, "Content-Type": "multipart/form-data; boundary=x"},
            timeout=60,
        )
        assert response.status_code == 413
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {
            "code": "FILE_TOO_LARGE",
            "message": edge.TOO_LARGE_MESSAGE.format(limit=edge.MAX_BASE64_BODY),
        }


def test_presigned_post_over_the_size_policy_is_refused(stack):
    token = stack.token()
    grant = requests.post(f"{stack.base_url}/api/v1/upload/url", headers=auth(token), timeout=10).json()["result"]
    too_big = b"a\n" * (grant["maxBytes"] // 2 + 1)
    posted = requests.post(grant["url"], data=grant["fields"], files={"file": ("u.csv", too_big)}, timeout=60)
    assert posted.status_code == 400 and "EntityTooLarge" in posted.text


def test_presigned_post_cannot_change_the_signed_tenant(stack):
    token = stack.token()
    grant = requests.post(f"{stack.base_url}/api/v1/upload/url", headers=auth(token), timeout=10).json()["result"]
    fields = {**grant["fields"], "x-amz-meta-tenant": "tenant-two"}
    posted = requests.post(grant["url"], data=fields, files={"file": ("u.csv", b"a\n")}, timeout=10)
    assert posted.status_code == 403


def test_presigned_post_cannot_change_or_add_the_change_threshold(stack):
    # Given a grant for a held-at-10% upload and one without a threshold
    token = stack.token()
    url = f"{stack.base_url}/api/v1/upload/url"
    held = requests.post(url, headers=auth(token), json={"changeThreshold": 10}, timeout=10).json()["result"]
    plain = requests.post(url, headers=auth(token), timeout=10).json()["result"]
    assert "x-amz-meta-changethreshold" in held["fields"] and "x-amz-meta-changethreshold" not in plain["fields"]
    # Then neither a rewritten nor an added threshold gets through S3's policy check
    for grant in (held, plain):
        fields = {**grant["fields"], "x-amz-meta-changethreshold": "100"}
        posted = requests.post(grant["url"], data=fields, files={"file": ("u.csv", USERS_CSV.encode())}, timeout=10)
        assert posted.status_code == 403 and "x-amz-meta-changethreshold" in posted.text
    # And the signed fields as given are accepted
    posted = requests.post(held["url"], data=held["fields"], files={"file": ("u.csv", USERS_CSV.encode())}, timeout=10)
    assert posted.status_code == 204


def test_an_idempotency_key_covers_the_change_threshold(stack):
    token = stack.token()
    key = {"Idempotency-Key": f"threshold-{time.time_ns()}"}

    def send(threshold: str) -> requests.Response:
        return requests.post(
            f"{stack.base_url}/api/v1/upload",
            headers={**auth(token), **key},
            files={"file": ("users.csv", USERS_CSV.encode(), "text/csv"), "changeThreshold": (None, threshold)},
            timeout=60,
        )

    first = send("10")
    assert first.status_code == 200, first.text
    # The same key with another threshold is the documented conflict
    other = send("50")
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    # The same key and threshold (10.0 is 10) answers the first referenceId again
    again = send("10.0")
    assert again.status_code == 200 and again.json() == first.json()


def test_signed_links_are_sigv4(stack):
    token = stack.token()
    grant = requests.post(f"{stack.base_url}/api/v1/upload/url", headers=auth(token), timeout=10).json()["result"]
    assert grant["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert "AWSAccessKeyId" not in grant["fields"]
    posted = requests.post(grant["url"], data=grant["fields"], files={"file": ("users.csv", USERS_CSV)}, timeout=10)
    assert posted.status_code in (200, 204), posted.text
    wait_terminal(stack, token, grant["referenceId"], timeout=120)
    download = requests.get(f"{stack.base_url}/api/v1/download/{grant['referenceId']}", headers=auth(token), timeout=10)
    url = download.json()["result"]["url"]
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "AWSAccessKeyId=" not in url
    assert requests.get(url, timeout=10).status_code == 200


def test_presigned_post_with_a_forged_policy_or_an_uncovered_field_or_no_policy_is_refused(stack):
    token = stack.token()
    grant = requests.post(f"{stack.base_url}/api/v1/upload/url", headers=auth(token), timeout=10).json()["result"]
    fields = grant["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [
        {"x-amz-meta-tenant": "tenant-two"} if c == {"x-amz-meta-tenant": "tenant-one"} else c
        for c in policy["conditions"]
    ]
    forged = {
        **fields,
        "policy": base64.b64encode(json.dumps(policy).encode()).decode(),
        "x-amz-meta-tenant": "tenant-two",
    }
    uncovered = {**fields, "x-amz-meta-origin": "elsewhere"}
    no_policy = {"key": fields["key"], "x-amz-meta-tenant": "tenant-two"}
    for data in (forged, uncovered, no_policy):
        posted = requests.post(grant["url"], data=data, files={"file": ("u.csv", b"a\n")}, timeout=10)
        assert posted.status_code == 403, posted.text
    keys = stack.aws("s3").list_objects_v2(Bucket=grant["url"].rstrip("/").rsplit("/", 1)[1]).get("Contents", [])
    assert fields["key"] not in {item["Key"] for item in keys}


def test_openapi_document_is_served(stack):
    response = requests.get(f"{stack.base_url}/openapi.yaml", timeout=10)
    assert response.status_code == 200 and response.text.startswith("openapi: 3")


def test_a_second_stack_runs_beside_and_stops_cleanly_on_ctrl_c(stack):
    # Given a second stack on another port
    other = start_stack(free_port())
    try:
        # Then each serves its own tenants' tokens; a token of one is refused by the other
        token = other.token()
        response = requests.get(f"{stack.base_url}/api/v1/status/x", headers=auth(token), timeout=10)
        assert response.status_code == 401
    finally:
        # And Ctrl-C stops it with exit code 0
        assert other.stop() == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{other.base_url}/openapi.yaml", timeout=2)


def test_sigterm_stops_the_stack_like_ctrl_c():
    # Given a running stack
    other = start_stack(free_port())
    # When a service manager sends SIGTERM
    other.process.send_signal(signal.SIGTERM)
    # Then it stops cleanly and frees its port
    assert other.process.wait(timeout=15) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{other.base_url}/openapi.yaml", timeout=2)
