"""The token Lambda with real HTTP API v2 events; Cognito is faked in-process by ``LocalIssuer``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from jose import jwt

from lambdas.common.observability import logger
from lambdas.handlers import token as handler
from lambdas.oauth.cognito import TokenEndpoint
from local.issuer import DEFAULT_LOCAL_CLIENTS, LocalIssuer, parse_clients
from testkit.apigw import load_event, response_json
from tests.auth_fixtures import (
    BOUNDARY,
    CLIENT_ID,
    CLIENT_SECRET,
    CLIENTS,
    ISSUER_URL,
    MULTIPART_CONTENT_TYPE,
    OTHER_CLIENT_ID,
    POOL_TOKEN_URL,
    FakeCognito,
    basic,
    multipart_body,
    token_event,
)

URLENCODED_OK = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}".encode()


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(ISSUER_URL, CLIENTS)


@pytest.fixture
def cognito(issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> FakeCognito:
    fake = FakeCognito(issuer)
    monkeypatch.setattr(handler, "endpoint", fake.endpoint())
    return fake


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is now: capsys swaps it between test phases."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def log_output(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """The shared Powertools logger kept the stdout of import time; point it at the one capsys captures."""
    previous = logger.registered_handler.setStream(_CurrentStdout())  # type: ignore[arg-type]
    yield capsys
    logger.registered_handler.setStream(previous)


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, str], Any]:
    response = handler.lambda_handler(event, lambda_context)
    return response["statusCode"], {k.lower(): v for k, v in response["headers"].items()}, response_json(response)


def test_urlencoded_form_credentials_get_a_bearer_token(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given the canonical event: an urlencoded body with client_id and client_secret
    event = token_event(URLENCODED_OK)

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then a Cognito access token for that client comes back
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert jwt.get_unverified_claims(body["access_token"])["client_id"] == CLIENT_ID


def test_canonical_event_file_is_a_valid_token_request_for_the_demo_tenant(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    # Given the canonical event as stored and a Cognito that knows the demo tenant
    fake = FakeCognito(LocalIssuer(ISSUER_URL, parse_clients(DEFAULT_LOCAL_CLIENTS)))
    monkeypatch.setattr(handler, "endpoint", fake.endpoint())

    # When the token route handles it
    status, _, body = call(load_event("token_request.json"), lambda_context)

    # Then it is answered with a token
    assert status == 200
    assert "access_token" in body


def test_multipart_body_like_curl_form_gets_a_token(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given the documented `curl --form` request
    body = multipart_body({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    event = token_event(body, content_type=MULTIPART_CONTENT_TYPE)

    # When the token route handles it
    status, _, answer = call(event, lambda_context)

    # Then it gets a token
    assert status == 200
    assert jwt.get_unverified_claims(answer["access_token"])["client_id"] == CLIENT_ID


def test_request_is_forwarded_to_cognito_as_urlencoded_with_basic_auth(
    cognito: FakeCognito, lambda_context: Any
) -> None:
    # Given a multipart request with a scope
    fields = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    body = multipart_body({**fields, "scope": "rostering/read"})
    event = token_event(body, content_type=MULTIPART_CONTENT_TYPE)

    # When the token route handles it
    call(event, lambda_context)

    # Then Cognito received urlencoded grant_type and scope, and the credentials as HTTP Basic only
    (forwarded,) = cognito.requests
    assert forwarded.get_method() == "POST"
    assert forwarded.get_header("Content-type") == "application/x-www-form-urlencoded"
    assert forwarded.get_header("Authorization") == basic(CLIENT_ID, CLIENT_SECRET)
    assert isinstance(forwarded.data, bytes)
    assert parse_qs(forwarded.data.decode()) == {"grant_type": ["client_credentials"], "scope": ["rostering/read"]}


def test_http_basic_credentials_get_a_token(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given credentials in an Authorization: Basic header only
    event = token_event(b"grant_type=client_credentials", authorization=basic(CLIENT_ID, CLIENT_SECRET))

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it gets a token for that client
    assert status == 200
    assert jwt.get_unverified_claims(body["access_token"])["client_id"] == CLIENT_ID


def test_basic_and_form_with_the_same_credentials_get_a_token(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given the same credentials in the header and the form
    event = token_event(URLENCODED_OK, authorization=basic(CLIENT_ID, CLIENT_SECRET))

    # When the token route handles it
    status, _, _ = call(event, lambda_context)

    # Then it is accepted
    assert status == 200


def test_basic_and_form_naming_different_clients_is_400(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given one client in the header and another in the form
    event = token_event(URLENCODED_OK, authorization=basic(OTHER_CLIENT_ID, CLIENT_SECRET))

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it is refused before reaching Cognito
    assert (status, body) == (400, {"error": "invalid_request"})
    assert cognito.requests == []


def test_wrong_secret_is_401_invalid_client(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a known client with a wrong secret (Cognito answers 400 invalid_client)
    event = token_event(f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=wrong".encode())

    # When the token route handles it
    status, headers, body = call(event, lambda_context)

    # Then the caller gets RFC 6749's 401
    assert (status, body) == (401, {"error": "invalid_client"})
    assert headers["www-authenticate"].startswith("Basic")


def test_unknown_client_is_401_invalid_client(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a client id Cognito does not know
    event = token_event(b"grant_type=client_credentials&client_id=nobody&client_secret=whatever")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it is an authentication failure
    assert (status, body) == (401, {"error": "invalid_client"})


def test_missing_credentials_are_401_invalid_client(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a request with no client authentication at all
    event = token_event(b"grant_type=client_credentials")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it is an authentication failure that never reaches Cognito
    assert (status, body) == (401, {"error": "invalid_client"})
    assert cognito.requests == []


def test_missing_grant_type_is_400_invalid_request(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a form without grant_type
    event = token_event(f"client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}".encode())

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it is a malformed request
    assert (status, body) == (400, {"error": "invalid_request"})


def test_password_grant_is_400_unsupported_grant_type(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given the resource-owner password grant
    event = token_event(f"grant_type=password&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}".encode())

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then only client_credentials is supported
    assert (status, body) == (400, {"error": "unsupported_grant_type"})


def test_unknown_scope_is_400_invalid_scope(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a scope the client was not granted
    event = token_event(URLENCODED_OK + b"&scope=rostering/admin")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then Cognito's invalid_scope is relayed
    assert (status, body) == (400, {"error": "invalid_scope"})


@pytest.mark.parametrize("content_type", ["urlencoded", "multipart"])
def test_tao_scope_rostering_grants_both_scopes(cognito: FakeCognito, lambda_context: Any, content_type: str) -> None:
    # Given the scope name TAO's documentation gives, as curl --form or urlencoded sends it
    if content_type == "multipart":
        fields = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        event = token_event(multipart_body({**fields, "scope": "rostering"}), content_type=MULTIPART_CONTENT_TYPE)
    else:
        event = token_event(URLENCODED_OK + b"&scope=rostering")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then Cognito was asked for the two scopes it knows, and the token carries both
    assert status == 200, body
    (forwarded,) = cognito.requests
    assert parse_qs(forwarded.data.decode())["scope"] == ["rostering/import rostering/read"]  # type: ignore[union-attr]
    assert jwt.get_unverified_claims(body["access_token"])["scope"] == "rostering/import rostering/read"


@pytest.mark.parametrize(
    ("requested", "forwarded"),
    [
        ("rostering/read rostering", "rostering/read rostering/import"),
        ("rostering/import  rostering/import", "rostering/import"),
    ],
)
def test_scopes_are_forwarded_once_each(
    cognito: FakeCognito, lambda_context: Any, requested: str, forwarded: str
) -> None:
    event = token_event(URLENCODED_OK + b"&" + urlencode({"scope": requested}).encode())
    assert call(event, lambda_context)[0] == 200
    assert parse_qs(cognito.requests[0].data.decode())["scope"] == [forwarded]  # type: ignore[union-attr]


@pytest.mark.parametrize("scope", ["openid", "rostering/admin rostering", "ROSTERING", "rostering/"])
def test_scope_outside_the_route_scopes_is_invalid_scope_before_cognito(
    cognito: FakeCognito, lambda_context: Any, scope: str
) -> None:
    event = token_event(URLENCODED_OK + b"&" + urlencode({"scope": scope}).encode())
    assert call(event, lambda_context)[::2] == (400, {"error": "invalid_scope"})
    assert cognito.requests == []


@pytest.mark.parametrize("charset", ["bogus", "rot13", "x" * 300])
def test_multipart_part_with_unknown_charset_is_400_invalid_request(
    cognito: FakeCognito, lambda_context: Any, charset: str
) -> None:
    # Given a curl --form body whose grant_type part declares a charset Python cannot decode with
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="grant_type"\r\n'
        f"Content-Type: text/plain; charset={charset}\r\n\r\nclient_credentials\r\n--{BOUNDARY}--\r\n"
    ).encode()
    event = token_event(body, content_type=MULTIPART_CONTENT_TYPE, authorization=basic(CLIENT_ID, CLIENT_SECRET))

    # When the token route handles it
    status, headers, answer = call(event, lambda_context)

    # Then RFC 6749's invalid_request as JSON, not a 500
    assert (status, answer) == (400, {"error": "invalid_request"})
    assert headers["content-type"].startswith("application/json")
    assert cognito.requests == []


def test_requested_scope_narrows_the_token(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a request for the read scope only
    event = token_event(URLENCODED_OK + b"&scope=rostering%2Fread")

    # When the token route handles it
    _, _, body = call(event, lambda_context)

    # Then the token carries that scope alone
    assert jwt.get_unverified_claims(body["access_token"])["scope"] == "rostering/read"


def test_empty_body_is_400_invalid_request(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given a POST without a body
    event = token_event(None)

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it is a malformed request
    assert (status, body) == (400, {"error": "invalid_request"})


def test_json_body_is_400_invalid_request(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given the fields as a JSON document
    payload = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    event = token_event(json.dumps(payload).encode(), content_type="application/json")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then only form bodies are accepted
    assert (status, body) == (400, {"error": "invalid_request"})


def test_repeated_form_field_is_400_invalid_request(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given grant_type twice (RFC 6749 section 3.2: parameters must not repeat)
    event = token_event(URLENCODED_OK + b"&grant_type=client_credentials")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it is a malformed request
    assert (status, body) == (400, {"error": "invalid_request"})


def test_documented_alias_path_gets_a_token(cognito: FakeCognito, lambda_context: Any) -> None:
    # Given the request on the alias printed in the public docs
    event = token_event(URLENCODED_OK, path="/api/v1/upload/v1/oauth2/tokens")

    # When the token route handles it
    status, _, body = call(event, lambda_context)

    # Then it answers like the main path
    assert status == 200
    assert "access_token" in body


@pytest.mark.parametrize(
    "body",
    [URLENCODED_OK, b"grant_type=password"],
    ids=["success", "error"],
)
def test_every_answer_carries_cache_control_no_store(cognito: FakeCognito, lambda_context: Any, body: bytes) -> None:
    # Given a successful or a refused token request
    event = token_event(body)

    # When the token route handles it
    _, headers, _ = call(event, lambda_context)

    # Then the answer must not be cached
    assert headers["cache-control"] == "no-store"


def test_unreachable_cognito_is_502_server_error(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> None:
    # Given a Cognito endpoint that cannot be reached
    def refuse(request: Any, timeout: float) -> tuple[int, bytes]:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(handler, "endpoint", TokenEndpoint(POOL_TOKEN_URL, send=refuse))

    # When the token route handles a valid request
    status, _, body = call(token_event(URLENCODED_OK), lambda_context)

    # Then the caller gets a gateway error, not a stack trace
    assert (status, body) == (502, {"error": "server_error"})


def test_logs_never_contain_the_secret_or_the_token(
    cognito: FakeCognito, lambda_context: Any, log_output: pytest.CaptureFixture[str]
) -> None:
    # Given one successful request and one with a wrong secret
    _, _, body = call(token_event(URLENCODED_OK), lambda_context)
    call(token_event(b"grant_type=client_credentials&client_id=x&client_secret=wrong-secret-xyz"), lambda_context)

    # When the logs are read
    logs = log_output.readouterr().out

    # Then they tell what happened without any secret or token
    assert '"token issued"' in logs
    assert '"token request rejected"' in logs
    for secret in (CLIENT_SECRET, "wrong-secret-xyz", body["access_token"]):
        assert secret not in logs
