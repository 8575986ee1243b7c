"""Security checks through the whole local gateway over real HTTP: the algorithm-confusion attack
(HS256 keyed with the issuer's public key) is refused on every protected route, and a hostile file
name never reaches an object key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from jose import jwk, jwt

from lambdas.common.config import DEFAULT_BUCKET_NAME
from testkit.local_stack import RunningStack

pytestmark = pytest.mark.e2e

TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
KNOWN_KEY = re.compile(
    rf"import-csv/(?:(?:pending|processed|failed|results)/{UUID}\.csv|chunks/{UUID}/\d+(?:\.result\.[0-9a-f]+)?\.jsonl)"
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_key_pems(token: str) -> list[bytes]:
    """The issuer's signing key, fetched from its JWKS, as the PEM forms an attacker would try."""
    claims = jwt.get_unverified_claims(token)
    kid = jwt.get_unverified_header(token)["kid"]
    keys = requests.get(f"{claims['iss']}/.well-known/jwks.json", timeout=10).json()["keys"]
    public = jwk.construct(next(k for k in keys if k["kid"] == kid), "RS256").to_pem()
    loaded = serialization.load_pem_public_key(public)
    pkcs1 = loaded.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    spki = loaded.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [spki, pkcs1]


def forge_hs256(token: str, key: bytes) -> str:
    """The genuine token's header and claims, re-signed HS256 with ``key``."""
    header = {**jwt.get_unverified_header(token), "alg": "HS256"}
    claims = jwt.get_unverified_claims(token)
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def protected_requests(base_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    ref = str(uuid.uuid4())
    upload = {"files": {"file": ("users.csv", b"user_username\r\nx\r\n", "text/csv")}}
    return [
        ("POST", f"{base_url}/api/v1/upload", upload),
        ("POST", f"{base_url}/api/v1/upload/api/v1/upload", upload),
        ("POST", f"{base_url}/api/v1/upload/url", {"json": {"fileName": "users.csv"}}),
        ("GET", f"{base_url}/api/v1/status/{ref}", {}),
        ("GET", f"{base_url}/api/v1/upload/api/v1/status/{ref}", {}),
        ("GET", f"{base_url}/api/v1/download/{ref}", {}),
        ("GET", f"{base_url}/api/v1/upload/api/v1/download/{ref}", {}),
    ]


@pytest.mark.parametrize("pem_form", [0, 1], ids=["spki-pem", "pkcs1-pem"])
def test_hs256_token_signed_with_the_public_key_is_unauthorized_on_every_route(
    stack: RunningStack, pem_form: int
) -> None:
    # Given a genuine token, and the same claims signed HS256 with the issuer's public key
    token = stack.token()
    forged = forge_hs256(token, public_key_pems(token)[pem_form])
    status_url = protected_requests(stack.base_url)[3][1]
    assert requests.get(status_url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 404
    # When the forged token is presented on every protected route
    answers = [
        requests.request(method, url, headers={"Authorization": f"Bearer {forged}"}, timeout=10, **options)
        for method, url, options in protected_requests(stack.base_url)
    ]
    # Then the gateway refuses each one as an invalid token, before any handler runs
    assert [(a.status_code, a.json()) for a in answers] == [(401, {"message": "Unauthorized"})] * len(answers)
    assert all('error="invalid_token"' in a.headers["WWW-Authenticate"] for a in answers)


@pytest.mark.parametrize("file_name", ["../../x.csv", "%2e%2e/%2e%2e/y.csv", "/etc/z.csv", "..\\..\\w.csv"])
def test_hostile_file_name_through_the_gateway_leaves_only_layout_keys(stack: RunningStack, file_name: str) -> None:
    # Given a tenant's token
    token = stack.token()
    headers = {"Authorization": f"Bearer {token}"}
    # When a file is uploaded through the gateway under a hostile name and imported
    response = requests.post(
        f"{stack.base_url}/api/v1/upload",
        headers=headers,
        files={"file": (file_name, b"group_name\r\nclass-1\r\n", "text/csv")},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    ref = response.json()["result"]["referenceId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = requests.get(f"{stack.base_url}/api/v1/status/{ref}", headers=headers, timeout=10).json()
        if status["result"]["status"] in TERMINAL:
            break
        time.sleep(0.2)
    # Then the file sits under its reference and every key of the bucket follows the layout
    s3 = stack.aws("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=DEFAULT_BUCKET_NAME).get("Contents", [])]
    assert f"import-csv/processed/{ref}.csv" in keys
    assert [key for key in keys if not KNOWN_KEY.fullmatch(key)] == []
