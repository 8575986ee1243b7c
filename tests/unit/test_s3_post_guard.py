"""The local S3 POST guard checks what S3 checks: SigV4 signature over the policy, expiry, every
condition, no field the policy does not cover, no POST without a policy; SigV2 links are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from werkzeug.test import Client
from werkzeug.wrappers import Response

from lambdas.intake.objects import ObjectStore
from lambdas.jobs.objects import UploadMetadata
from local.s3_policy import PostPolicyGuard

BUCKET = "uploads"
KEY = "import-csv/pending/0b6c2f39-5a7e-4a37-9f0e-2f3f0c1d2e3f.csv"
CREDENTIALS = {"local": "local"}


def _client(secret: str = "local") -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="local",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def _grant(*, secret: str = "local", expires_in: int = 900, max_bytes: int = 100) -> dict[str, Any]:
    fields = {"x-amz-meta-tenant": "tenant-one"}
    conditions: list[Any] = [{"x-amz-meta-tenant": "tenant-one"}, ["content-length-range", 1, max_bytes]]
    post: dict[str, Any] = _client(secret).generate_presigned_post(
        BUCKET, KEY, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
    )
    return post


def _post(fields: dict[str, str], content: bytes = b"a,b\n1,2\n") -> tuple[int, str, bool]:
    reached: list[bool] = []

    def moto(environ: dict[str, Any], start_response: Any) -> Any:
        reached.append(True)
        return Response(b"", 204)(environ, start_response)

    client = Client(PostPolicyGuard(moto, CREDENTIALS))
    data: dict[str, Any] = dict(fields)
    data["file"] = (__import__("io").BytesIO(content), "u.csv")
    response = client.post(f"/{BUCKET}", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True), bool(reached)


def test_a_genuine_presigned_post_reaches_s3() -> None:
    assert _post(_grant()["fields"])[::2] == (204, True)


def test_a_post_without_policy_is_refused() -> None:
    status, body, reached = _post({"key": KEY, "x-amz-meta-tenant": "tenant-two"})
    assert (status, reached) == (403, False) and "AccessDenied" in body


def test_a_rewritten_tenant_field_is_refused() -> None:
    fields = {**_grant()["fields"], "x-amz-meta-tenant": "tenant-two"}
    status, body, reached = _post(fields)
    assert (status, reached) == (403, False) and "x-amz-meta-tenant" in body


def test_a_self_made_policy_is_refused_by_the_signature() -> None:
    fields = _grant()["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if c != {"x-amz-meta-tenant": "tenant-one"}]
    policy["conditions"].append({"x-amz-meta-tenant": "tenant-two"})
    forged = {
        **fields,
        "policy": base64.b64encode(json.dumps(policy).encode()).decode(),
        "x-amz-meta-tenant": "tenant-two",
    }
    status, body, reached = _post(forged)
    assert (status, reached) == (403, False) and "SignatureDoesNotMatch" in body


def _upload_grant(change_threshold: Decimal | None) -> dict[str, Any]:
    """The grant the presigned upload route signs (the intake's own policy, not a hand-made one)."""
    metadata = UploadMetadata(
        tenant="tenant-one", file_name="u.csv", dry_run=False, source="presigned", change_threshold=change_threshold
    )
    post: dict[str, Any] = ObjectStore(BUCKET, client=_client()).presign_pending_post(
        KEY.rsplit("/", 1)[-1].removesuffix(".csv"), metadata=metadata, max_bytes=100, expires_in=900
    )
    return post


def test_the_upload_routes_policy_pins_the_change_threshold() -> None:
    fields = _upload_grant(Decimal(25))["fields"]
    assert _post(fields)[::2] == (204, True)
    # A client that rewrites the threshold (to import what should have been held) is refused
    status, body, reached = _post({**fields, "x-amz-meta-changethreshold": "100"})
    assert (status, reached) == (403, False) and "x-amz-meta-changethreshold" in body


def test_a_threshold_the_upload_route_did_not_sign_cannot_be_added() -> None:
    fields = _upload_grant(None)["fields"]
    status, body, reached = _post({**fields, "x-amz-meta-changethreshold": "100"})
    assert (status, reached) == (403, False) and "Extra input fields: x-amz-meta-changethreshold" in body


def test_a_policy_signed_with_another_secret_is_refused() -> None:
    status, body, _ = _post(_grant(secret="guessed")["fields"])
    assert status == 403 and "SignatureDoesNotMatch" in body


def test_an_uncovered_field_is_refused() -> None:
    fields = {**_grant()["fields"], "x-amz-meta-extra": "1"}
    status, body, reached = _post(fields)
    assert (status, reached) == (403, False) and "Extra input fields: x-amz-meta-extra" in body


def test_x_ignore_fields_need_no_condition() -> None:
    assert _post({**_grant()["fields"], "x-ignore-note": "anything"})[0] == 204


def test_an_expired_policy_is_refused() -> None:
    status, body, _ = _post(_grant(expires_in=-1)["fields"])
    assert status == 403 and "Policy expired" in body


def test_a_file_over_the_size_range_is_refused() -> None:
    status, body, reached = _post(_grant(max_bytes=4)["fields"], b"0123456789")
    assert (status, reached) == (400, False) and "EntityTooLarge" in body


def test_a_sigv2_post_is_refused() -> None:
    fields = {k: v for k, v in _grant()["fields"].items() if not k.startswith("x-amz-") or k.startswith("x-amz-meta")}
    status, body, _ = _post({**fields, "AWSAccessKeyId": "local", "signature": "abc"})
    assert status == 400 and "Signature Version 4" in body


def _query(*, signed_ago: timedelta) -> str:
    signed = datetime.now(UTC) - signed_ago
    return f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={signed:%Y%m%dT%H%M%SZ}&X-Amz-Expires=60"


@pytest.mark.parametrize(
    ("case", "status"),
    [("sigv2", 400), ("expired", 403), ("fresh", 200)],
)
def test_presigned_gets_are_sigv4_and_unexpired(case: str, status: int) -> None:
    query = {
        "sigv2": "AWSAccessKeyId=local&Signature=abc&Expires=9999999999",
        "expired": _query(signed_ago=timedelta(hours=2)),
        "fresh": _query(signed_ago=timedelta(0)),
    }[case]
    app = PostPolicyGuard(lambda environ, start: Response(b"ok")(environ, start), CREDENTIALS)
    assert Client(app).get(f"/{BUCKET}/{KEY}?{query}").status_code == status
