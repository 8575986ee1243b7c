"""The API Gateway emulator: events as payload 2.0 builds them, limits, and answers back to HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import Client

from lambdas.common import edge
from lambdas.oauth.request import TokenRequest
from local.authorizer import JwtAuthorizer
from local.gateway import LAMBDA_MAX_EVENT, Gateway, to_http
from local.issuer import LocalIssuer

ISSUER_URL = "http://127.0.0.1:1/local_pool"


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(ISSUER_URL, {"tenant-a": "secret-a"})


@pytest.fixture
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def client(issuer: LocalIssuer, seen: list[dict[str, Any]]) -> Client:
    def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}

    authorizer = JwtAuthorizer(issuer=ISSUER_URL, jwks=issuer.jwks, allowed_client_ids=issuer.client_ids)
    gateway = Gateway(handlers={"upload": echo, "status": echo, "token": echo}, authorizer=authorizer)
    return Client(gateway)


def bearer(issuer: LocalIssuer, scope: str = "rostering/import rostering/read") -> dict[str, str]:
    token = issuer.issue(TokenRequest(client_id="tenant-a", client_secret="secret-a", scope=scope))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_multipart_request_becomes_a_base64_payload_2_event(client, issuer, seen):
    response = client.post(
        "/api/v1/upload?x=1&x=2",
        data={"file": (__import__("io").BytesIO(b"a,b\n"), "u.csv")},
        headers={**bearer(issuer), "X-Custom": "Value"},
    )
    assert response.status_code == 200
    [event] = seen
    assert event["version"] == "2.0" and event["routeKey"] == "POST /api/v1/upload"
    assert event["rawPath"] == "/api/v1/upload" and event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["headers"]["x-custom"] == "Value"
    assert event["isBase64Encoded"] is True
    assert b"a,b\n" in base64.b64decode(event["body"])
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["client_id"] == "tenant-a" and jwt["scopes"] == ["rostering/import", "rostering/read"]
    assert all(isinstance(value, str) for value in jwt["claims"].values())


def test_json_body_is_passed_as_text(client, issuer, seen):
    client.post("/api/v1/upload/url", json={"fileName": "u.csv"}, headers=bearer(issuer))
    assert seen[0]["isBase64Encoded"] is False and json.loads(seen[0]["body"]) == {"fileName": "u.csv"}


def test_path_parameters_are_extracted(client, issuer, seen):
    client.get("/api/v1/upload/api/v1/status/abc-123", headers=bearer(issuer))
    assert seen[0]["pathParameters"] == {"referenceId": "abc-123"}
    assert seen[0]["routeKey"] == "GET /api/v1/upload/api/v1/status/{referenceId}"


def test_token_route_has_no_authorizer(client, seen):
    response = client.post("/api/v1/oauth2/tokens", data={"grant_type": "client_credentials"})
    assert response.status_code == 200 and "authorizer" not in seen[0]["requestContext"]


def test_unknown_route_and_wrong_method_are_404(client):
    assert client.get("/api/v1/upload").status_code == 404
    assert client.get("/elsewhere").json == {"message": "Not Found"}


def test_missing_token_is_401_before_the_handler(client, seen):
    response = client.post("/api/v1/upload")
    assert (response.status_code, response.json) == (401, {"message": "Unauthorized"})
    assert seen == []


def test_token_without_route_scope_is_403(client, issuer, seen):
    response = client.post("/api/v1/upload", headers=bearer(issuer, "rostering/read"))
    assert (response.status_code, response.json) == (403, {"message": "Forbidden"})
    assert seen == []


def test_event_over_the_lambda_limit_is_413_before_the_handler(client, issuer, seen):
    body = b"x" * (LAMBDA_MAX_EVENT * 3 // 4 + 1000)
    response = client.post(
        "/api/v1/upload", data=body, headers={**bearer(issuer), "Content-Type": "application/octet-stream"}
    )
    assert (response.status_code, response.json["code"]) == (413, "FILE_TOO_LARGE")
    assert seen == []


def test_body_at_the_edge_limit_reaches_the_handler_and_its_event_fits_the_lambda_limit(client, issuer, seen):
    body = b"x" * edge.MAX_BASE64_BODY
    response = client.post(
        "/api/v1/upload", data=body, headers={**bearer(issuer), "Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 200 and len(seen) == 1
    assert len(json.dumps(seen[0])) <= LAMBDA_MAX_EVENT


@pytest.mark.parametrize(
    ("content_type", "limit"),
    [("multipart/form-data; boundary=x", edge.MAX_BASE64_BODY), ("text/csv", edge.MAX_TEXT_BODY)],
)
def test_a_body_one_byte_over_the_edge_limit_is_413_with_the_advice_even_without_a_token(
    client, seen, content_type, limit
):
    response = client.post("/api/v1/upload", data=b"x" * (limit + 1), headers={"Content-Type": content_type})
    assert response.status_code == 413
    assert response.json == {"code": "FILE_TOO_LARGE", "message": edge.TOO_LARGE_MESSAGE.format(limit=limit)}
    assert "gzip" in response.json["message"] and "/api/v1/upload/url" in response.json["message"]
    assert seen == []


def test_a_chunked_body_is_411(client, seen):
    response = client.post(
        "/api/v1/upload",
        input_stream=__import__("io").BytesIO(b"abc"),
        environ_overrides={"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""},
    )
    assert (response.status_code, response.json["code"]) == (411, "LENGTH_REQUIRED")
    assert seen == []


def test_handler_answer_with_base64_body_and_cookies_is_decoded():
    response = to_http(
        {"statusCode": 201, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True, "cookies": ["a=1"]}
    )
    assert response.status_code == 201 and response.get_data() == b"\x00\x01"
    assert response.headers["Set-Cookie"] == "a=1" and response.headers["Content-Type"] == "application/json"


def test_handler_answer_that_is_a_plain_value_is_200_json():
    response = to_http({"hello": "world"})
    assert response.status_code == 200 and json.loads(response.get_data()) == {"hello": "world"}
