"""The local Cognito-compatible issuer: tokens, JWKS and its WSGI endpoints."""

from __future__ import annotations

import json
import uuid

import pytest
from jose import jwt
from werkzeug.test import Client

from lambdas.oauth.errors import InvalidClient, InvalidScope
from lambdas.oauth.request import TokenRequest
from local.issuer import LocalIssuer, parse_clients
from tests.auth_fixtures import BOUNDARY, CLIENT_ID, CLIENT_SECRET, CLIENTS, ISSUER_URL, basic, multipart_body

NOW = 1_795_867_200


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(ISSUER_URL, CLIENTS, ttl_seconds=3600, clock=lambda: NOW)


def issue(issuer: LocalIssuer, scope: str | None = None) -> str:
    return issuer.issue(TokenRequest(CLIENT_ID, CLIENT_SECRET, scope))["access_token"]


def test_access_token_carries_cognito_client_credentials_claims(issuer: LocalIssuer) -> None:
    # Given a tenant client
    # When it gets a token without asking for a scope
    claims = jwt.get_unverified_claims(issue(issuer))

    # Then the claims are Cognito's, with both scopes and no audience
    assert claims == {
        "sub": CLIENT_ID,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "rostering/import rostering/read",
        "iss": ISSUER_URL,
        "iat": NOW,
        "auth_time": NOW,
        "exp": NOW + 3600,
        "version": 2,
        "jti": claims["jti"],
    }
    assert uuid.UUID(claims["jti"])


def test_access_token_header_is_rs256_with_the_issuer_kid(issuer: LocalIssuer) -> None:
    # When a token is issued
    header = jwt.get_unverified_header(issue(issuer))

    # Then it names RS256 and the key of the JWKS
    assert header["alg"] == "RS256"
    assert header["kid"] == issuer.kid == issuer.jwks()["keys"][0]["kid"]


def test_each_token_has_its_own_jti(issuer: LocalIssuer) -> None:
    # When the same client gets two tokens
    first, second = (jwt.get_unverified_claims(issue(issuer))["jti"] for _ in range(2))

    # Then they are distinguishable
    assert first != second


def test_jwks_key_verifies_issued_tokens(issuer: LocalIssuer) -> None:
    # Given the published JWKS
    (key,) = issuer.jwks()["keys"]

    # When an issued token is verified with it
    claims = jwt.decode(issue(issuer), key, algorithms=["RS256"], options={"verify_exp": False})

    # Then the signature holds
    assert claims["client_id"] == CLIENT_ID
    assert {key["kty"], key["alg"], key["use"]} == {"RSA", "RS256", "sig"}


def test_requested_subset_of_scopes_is_granted_alone(issuer: LocalIssuer) -> None:
    # When the client asks for the read scope only
    claims = jwt.get_unverified_claims(issue(issuer, "rostering/read"))

    # Then the token carries that scope alone
    assert claims["scope"] == "rostering/read"


def test_scope_outside_the_client_is_invalid_scope(issuer: LocalIssuer) -> None:
    # When the client asks for a scope it was not given
    # Then the issuer refuses
    with pytest.raises(InvalidScope):
        issue(issuer, "rostering/read rostering/admin")


def test_wrong_secret_is_invalid_client(issuer: LocalIssuer) -> None:
    # When a known client presents a wrong secret
    # Then it is not authenticated
    with pytest.raises(InvalidClient):
        issuer.issue(TokenRequest(CLIENT_ID, "not-the-secret", None))


def test_env_configures_clients_and_token_lifetime() -> None:
    # Given LOCAL_CLIENTS and TOKEN_TTL_SECONDS
    env = {"LOCAL_CLIENTS": "district-1:s3cret-1, district-2:s3cret-2", "TOKEN_TTL_SECONDS": "120"}

    # When the issuer is built from them
    issuer = LocalIssuer.from_env(ISSUER_URL, env)

    # Then both tenants exist and tokens live 120 s
    assert issuer.client_ids() == ["district-1", "district-2"]
    assert issuer.issue(TokenRequest("district-2", "s3cret-2", None))["expires_in"] == 120


def test_without_env_the_demo_tenant_exists() -> None:
    # When the issuer is built from an empty environment
    issuer = LocalIssuer.from_env(ISSUER_URL, {})

    # Then the documented demo tenant can get a token
    assert issuer.issue(TokenRequest("demo-client", "demo-secret", None))["token_type"] == "Bearer"


def test_client_entry_without_secret_is_rejected() -> None:
    # When LOCAL_CLIENTS names a client without a secret
    # Then the configuration is refused
    with pytest.raises(ValueError, match="client_id:client_secret"):
        parse_clients("district-1")


def test_wsgi_token_endpoint_answers_urlencoded_requests_like_cognito(issuer: LocalIssuer) -> None:
    # Given the WSGI app
    client = Client(issuer.wsgi_app)

    # When a client posts an urlencoded client-credentials request with Basic auth
    response = client.post(
        "/oauth2/token",
        data="grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET)},
    )

    # Then it answers Cognito's three fields, not cacheable
    assert response.status_code == 200
    assert sorted(response.json) == ["access_token", "expires_in", "token_type"]
    assert response.json["token_type"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"


def test_wsgi_token_endpoint_rejects_multipart_like_cognito(issuer: LocalIssuer) -> None:
    # Given the WSGI app
    client = Client(issuer.wsgi_app)

    # When a client posts the fields as multipart/form-data (what `curl --form` sends)
    response = client.post(
        "/oauth2/token",
        data=multipart_body(
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        ),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )

    # Then, like Cognito, it is a 400 invalid_request
    assert (response.status_code, response.json) == (400, {"error": "invalid_request"})


def test_wsgi_token_endpoint_answers_wrong_secret_with_400_invalid_client_like_cognito(issuer: LocalIssuer) -> None:
    # Given the WSGI app
    client = Client(issuer.wsgi_app)

    # When a client posts a wrong secret in the form
    response = client.post(
        "/oauth2/token",
        data=f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=wrong",
        content_type="application/x-www-form-urlencoded",
    )

    # Then Cognito's status for every error, 400, carries invalid_client
    assert (response.status_code, response.json) == (400, {"error": "invalid_client"})


def test_wsgi_app_serves_the_jwks_under_the_issuer_path(issuer: LocalIssuer) -> None:
    # Given the WSGI app of an issuer at http://127.0.0.1:9999/local_pool
    client = Client(issuer.wsgi_app)

    # When the JWKS is fetched where the JWT authorizer looks for it
    response = client.get("/local_pool/.well-known/jwks.json")

    # Then it is the issuer's key set
    assert response.status_code == 200
    assert json.loads(response.data) == issuer.jwks()
    assert issuer.jwks_url == ISSUER_URL + "/.well-known/jwks.json"


def test_wsgi_app_answers_unknown_paths_with_404(issuer: LocalIssuer) -> None:
    # When another path is requested
    response = Client(issuer.wsgi_app).get("/oauth2/authorize")

    # Then it is not found
    assert response.status_code == 404


def test_client_added_at_runtime_can_get_a_token() -> None:
    # Given a running issuer and a tenant onboarded after start
    issuer = LocalIssuer(ISSUER_URL, CLIENTS)
    issuer.add_client("district-9", "s3cret-9")

    # When the new tenant asks for a token
    answer = issuer.issue(TokenRequest("district-9", "s3cret-9", None))

    # Then it gets one, and the authorizer's allowed list (client_ids) names it
    assert answer["token_type"] == "Bearer"
    assert "district-9" in issuer.client_ids()
