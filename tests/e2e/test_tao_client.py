"""What a TAO client and a careless (or hostile) client send, over the local stack's HTTP: TAO's
session samples verbatim, sessions identified by name, the TAO scope name, presigned files
checked like direct ones, cleaned presign names, dryRun in the idempotency fingerprint, and
requests that must be 400s rather than 500s."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from testkit.local_stack import TENANTS, RunningStack
from tests.e2e.test_local_stack import auth, upload, wait_terminal

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "tao"
SESSION_SAMPLES = (
    "sessions-with-delivery-in-new-groups.csv",
    "sessions-with-delivery-in-existing-groups.csv",
    "sessions-with-battery-in-existing-groups.csv",
)


def import_csv(stack: RunningStack, token: str, name: str, content: bytes, **options: Any) -> dict[str, Any]:
    response = upload(stack, token, name, content)
    assert response.status_code == 200, response.text
    return wait_terminal(stack, token, response.json()["result"]["referenceId"], **options)


def issues(job: dict[str, Any], kind: str = "errors") -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["column"], e["code"]) for e in job[kind]]


def test_tao_session_samples_verbatim_import_without_failed_rows(stack: RunningStack) -> None:
    # Given a tenant token obtained as TAO documents it: curl --form with the "rostering" scope
    fields = {"grant_type": "client_credentials", "client_id": "tenant-two", "client_secret": TENANTS["tenant-two"]}
    answer = requests.post(
        f"{stack.base_url}/api/v1/oauth2/tokens",
        files={name: (None, value) for name, value in {**fields, "scope": "rostering"}.items()},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["scope"] == "rostering/import rostering/read"
    # When TAO's three session samples are uploaded exactly as printed
    jobs = [import_csv(stack, token, name, (SAMPLES / name).read_bytes()) for name in SESSION_SAMPLES]
    # Then every one completes without a failed row; the repeated header column is one warning
    assert [(job["status"], job["summary"]["failed"]) for job in jobs] == [("COMPLETED", 0)] * 3
    assert [issues(job, "warnings") for job in jobs] == [
        [],
        *[[(1, "session_waitingPageDate", "DUPLICATE_COLUMN")]] * 2,
    ]


def test_sessions_are_identified_by_name(stack: RunningStack) -> None:
    token = stack.token()
    group, other = f"class-{uuid.uuid4().hex[:8]}", f"class-{uuid.uuid4().hex[:8]}"
    header = "session_deliveryId,group_name,group_description,session_name\n"
    # Given two sessions on one delivery in one file
    both = import_csv(
        stack, token, "s.csv", f"{header}D1,{group},G,Morning {group}\nD1,{group},G,Noon {group}\n".encode()
    )
    assert (both["status"], both["summary"]["created"]) == ("COMPLETED", 2)
    # When a later file moves one to another delivery, and another file moves one to another group
    moved = import_csv(stack, token, "s.csv", f"{header}D2,{group},G,Noon {group}\n".encode())
    regrouped = import_csv(stack, token, "s.csv", f"{header}D1,{other},H,Morning {group}\n".encode())
    # Then the delivery change updates the session, the group change fails that row
    assert (moved["status"], moved["summary"]["updated"]) == ("COMPLETED", 1)
    assert regrouped["status"] == "COMPLETED_WITH_ERRORS"
    assert issues(regrouped) == [(2, "group_name", "SESSION_GROUP_CHANGE")]


def test_a_sessions_file_updates_the_existing_groups_it_names(stack: RunningStack) -> None:
    token = stack.token()
    first, second = f"class-{uuid.uuid4().hex[:8]}", f"class-{uuid.uuid4().hex[:8]}"
    groups_header = "group_name,group_description,group_active\n"
    sessions_header = "session_deliveryId,group_name,group_description,session_name\n"
    # Given two groups
    created = import_csv(stack, token, "g.csv", f"{groups_header}{first},Old,TRUE\n{second},Old,FALSE\n".encode())
    assert (created["status"], created["summary"]["created"]) == ("COMPLETED", 2)
    # When a sessions file names them with new descriptions
    sessions = f"{sessions_header}D1,{first},Room 12,Maths {first}\nD1,{second},Room 14,Art {first}\n"
    imported = import_csv(stack, token, "s.csv", sessions.encode())
    # Then each row counts once (created), and a groups file with the new descriptions changes nothing
    assert (imported["status"], imported["summary"]["created"], imported["summary"]["rows"]) == ("COMPLETED", 2, 2)
    again = import_csv(stack, token, "g.csv", f"{groups_header}{first},Room 12,TRUE\n{second},Room 14,FALSE\n".encode())
    assert (again["status"], again["summary"]["unchanged"], again["summary"]["updated"]) == ("COMPLETED", 2, 0)


def test_presigned_file_with_a_nul_byte_ends_failed(stack: RunningStack) -> None:
    # Given a presigned POST carrying a CSV with a NUL byte (the direct route answers 415)
    token = stack.token()
    grant = requests.post(
        f"{stack.base_url}/api/v1/upload/url", headers=auth(token), json={"fileName": "nul.csv"}, timeout=10
    ).json()["result"]
    content = b"group_name,group_description\nnul\x00group,x\n"
    posted = requests.post(grant["url"], data=grant["fields"], files={"file": ("nul.csv", content)}, timeout=10)
    assert posted.status_code in (200, 204), posted.text
    # When it is imported
    job = wait_terminal(stack, token, grant["referenceId"])
    # Then FAILED with INVALID_FILE_TYPE at row 0, nothing imported
    assert (job["status"], issues(job), job["summary"]["rows"]) == ("FAILED", [(0, None, "INVALID_FILE_TYPE")], 0)


def test_presign_file_name_is_cleaned(stack: RunningStack) -> None:
    token = stack.token()
    for sent, kept in [("../../etc/evil\r\nX: 1.csv", "evilX: 1.csv"), ("a" * 3000 + ".csv", "a" * 251 + ".csv")]:
        result = requests.post(
            f"{stack.base_url}/api/v1/upload/url", headers=auth(token), json={"fileName": sent}, timeout=10
        ).json()["result"]
        status = requests.get(
            f"{stack.base_url}/api/v1/status/{result['referenceId']}", headers=auth(token), timeout=10
        ).json()["result"]
        assert status["fileName"] == kept


def test_same_idempotency_key_with_another_dry_run_is_409(stack: RunningStack) -> None:
    token = stack.token()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    content = f"group_name\nidem-{uuid.uuid4().hex[:8]}\n".encode()

    def send(dry_run: str) -> requests.Response:
        return requests.post(
            f"{stack.base_url}/api/v1/upload",
            headers={**auth(token), **key},
            files={"file": ("g.csv", content, "text/csv")},
            data={"dryRun": dry_run},
            timeout=10,
        )

    first, other, again = send("true"), send("false"), send("true")
    assert first.status_code == 200 and again.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")


def test_bogus_charset_and_deep_json_are_400s(stack: RunningStack) -> None:
    boundary = "B0undary"
    parts = {"grant_type": "client_credentials", "client_id": "tenant-one", "client_secret": TENANTS["tenant-one"]}
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            + ("Content-Type: text/plain; charset=bogus\r\n" if name == "grant_type" else "")
            + f"\r\n{value}\r\n"
            for name, value in parts.items()
        )
        + f"--{boundary}--\r\n"
    )
    token_answer = requests.post(
        f"{stack.base_url}/api/v1/oauth2/tokens",
        data=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=10,
    )
    assert (token_answer.status_code, token_answer.json()) == (400, {"error": "invalid_request"})
    nested = requests.post(
        f"{stack.base_url}/api/v1/upload/url",
        headers={**auth(stack.token()), "Content-Type": "application/json"},
        data="[" * 200_000 + "]" * 200_000,
        timeout=30,
    )
    assert (nested.status_code, nested.json()["code"]) == (400, "MALFORMED_REQUEST")
