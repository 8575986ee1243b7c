"""Builders for the auth tests: token-route events and a fake Cognito token endpoint backed by ``LocalIssuer``."""

from __future__ import annotations

import base64
import copy
import json
import urllib.request
from typing import Any

from lambdas.oauth.cognito import TokenEndpoint
from local.issuer import LocalIssuer
from testkit.apigw import load_event

ISSUER_URL = "http://127.0.0.1:9999/local_pool"
CLIENT_ID = "tenant-a-client"
CLIENT_SECRET = "tenant-a-secret-value"
OTHER_CLIENT_ID = "tenant-b-client"
OTHER_CLIENT_SECRET = "tenant-b-secret-value"
CLIENTS = {CLIENT_ID: CLIENT_SECRET, OTHER_CLIENT_ID: OTHER_CLIENT_SECRET}
POOL_TOKEN_URL = "https://pool.auth.example.com/oauth2/token"
BOUNDARY = "------------------------d74496d66958873e"
MULTIPART_CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def basic(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")


def token_event(
    body: bytes | None,
    *,
    content_type: str | None = "application/x-www-form-urlencoded",
    authorization: str | None = None,
    path: str = "/api/v1/oauth2/tokens",
) -> dict[str, Any]:
    """The canonical token-route event (testkit/events/token_request.json) with another body and headers."""
    event = copy.deepcopy(load_event("token_request.json"))
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    headers = {
        name: value for name, value in event["headers"].items() if name not in ("content-type", "content-length")
    }
    if content_type is not None:
        headers["content-type"] = content_type
    if authorization is not None:
        headers["authorization"] = authorization
    if body is None:
        event.pop("body")
        event["isBase64Encoded"] = False
    else:
        headers["content-length"] = str(len(body))
        event["body"] = base64.b64encode(body).decode("ascii")
    event["headers"] = headers
    return event


def multipart_body(fields: dict[str, str], boundary: str = BOUNDARY) -> bytes:
    """What ``curl --form name=value`` sends (``MULTIPART_CONTENT_TYPE`` names the default boundary)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


class FakeCognito:
    """The user pool's ``/oauth2/token`` in-process: a ``send`` for ``TokenEndpoint`` that records requests."""

    def __init__(self, issuer: LocalIssuer) -> None:
        self.issuer = issuer
        self.requests: list[urllib.request.Request] = []

    def endpoint(self) -> TokenEndpoint:
        return TokenEndpoint(POOL_TOKEN_URL, send=self.send)

    def send(self, request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
        self.requests.append(request)
        data = request.data if isinstance(request.data, bytes) else b""
        status, body = self.issuer.token_endpoint(
            data, request.get_header("Content-type"), request.get_header("Authorization")
        )
        return status, json.dumps(body).encode()
