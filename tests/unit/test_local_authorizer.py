"""The local JWT authorizer: what API Gateway's HTTP API JWT authorizer lets through, and how it refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from local.authorizer import AuthorizerDenied, JwtAuthorizer, denial_response
from local.issuer import LocalIssuer
from tests.auth_fixtures import CLIENT_ID, CLIENTS, ISSUER_URL

NOW = 1_795_867_200
IMPORT_ROUTE = ("rostering/import",)
READ_ROUTE = ("rostering/read", "rostering/import")
UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(ISSUER_URL, CLIENTS, clock=lambda: NOW)


@pytest.fixture
def allowed() -> set[str]:
    return set(CLIENTS)


@pytest.fixture
def authorizer(issuer: LocalIssuer, allowed: set[str]) -> JwtAuthorizer:
    return JwtAuthorizer(issuer=ISSUER_URL, jwks=issuer.jwks, allowed_client_ids=lambda: allowed, clock=lambda: NOW)


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "sub": CLIENT_ID,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "rostering/import rostering/read",
        "iss": ISSUER_URL,
        "iat": NOW - 10,
        "auth_time": NOW - 10,
        "exp": NOW + 3600,
        "version": 2,
        "jti": "5f0c1a52-1d7b-4a8e-9d7e-6f2d8c3b9a10",
    }
    return {**base, **overrides}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_parts(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())


def refusal(authorizer: JwtAuthorizer, authorization: str | None, scopes: tuple[str, ...] = IMPORT_ROUTE) -> Any:
    with pytest.raises(AuthorizerDenied) as denied:
        authorizer.authorize(authorization, scopes)
    return denial_response(denied.value)


def assert_unauthorized(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer
    assert (status, body) == (401, UNAUTHORIZED)
    assert headers["WWW-Authenticate"].startswith('Bearer error="invalid_token", error_description="')


def test_valid_token_yields_the_jwt_block_api_gateway_passes_on(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a token issued to a tenant
    token = issuer.sign(claims())

    # When it calls an import route
    jwt_block = authorizer.authorize(f"Bearer {token}", IMPORT_ROUTE)

    # Then the handler sees every claim as a string and the scopes as a list
    assert jwt_block == {
        "claims": {name: str(value) for name, value in claims().items()},
        "scopes": ["rostering/import", "rostering/read"],
    }
    assert jwt_block["claims"]["exp"] == str(NOW + 3600)


def test_token_without_bearer_prefix_is_accepted(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given the bare token in the Authorization header (API Gateway accepts it with or without "Bearer")
    token = issuer.sign(claims())

    # When it calls an import route
    jwt_block = authorizer.authorize(token, IMPORT_ROUTE)

    # Then it passes
    assert jwt_block["claims"]["client_id"] == CLIENT_ID


def test_lowercase_bearer_scheme_is_accepted(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given "bearer" in lower case (RFC 7235: the scheme is case-insensitive)
    token = issuer.sign(claims())

    # When it calls an import route
    jwt_block = authorizer.authorize(f"bearer {token}", IMPORT_ROUTE)

    # Then it passes
    assert jwt_block["claims"]["client_id"] == CLIENT_ID


def test_tenant_added_at_runtime_is_accepted(authorizer: JwtAuthorizer, issuer: LocalIssuer, allowed: set[str]) -> None:
    # Given a tenant onboarded after the authorizer was built
    allowed.add("district-9")
    token = issuer.sign(claims(client_id="district-9", sub="district-9"))

    # When it calls a read route
    jwt_block = authorizer.authorize(f"Bearer {token}", READ_ROUTE)

    # Then it passes
    assert jwt_block["claims"]["client_id"] == "district-9"


def test_no_authorization_header_is_401(authorizer: JwtAuthorizer) -> None:
    # When a request carries no Authorization header
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, None))


def test_bearer_without_token_is_401(authorizer: JwtAuthorizer) -> None:
    # When the header is "Bearer" with nothing after it
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, "Bearer "))


def test_garbage_token_is_401(authorizer: JwtAuthorizer) -> None:
    # When the token is not a JWT
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, "Bearer not.a.jwt"))


def test_alg_none_token_is_401(authorizer: JwtAuthorizer) -> None:
    # Given an unsigned token declaring alg "none"
    token = unsigned_parts({"alg": "none", "typ": "JWT"}, claims()) + "."

    # When it is presented
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_hs256_token_signed_with_the_public_key_as_secret_is_401(
    authorizer: JwtAuthorizer, issuer: LocalIssuer
) -> None:
    # Given the algorithm-confusion attack: HS256 keyed with the issuer's public key PEM (CVE-2024-33663)
    signing_input = unsigned_parts({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}, claims())
    signature = hmac.new(issuer.public_key_pem(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64url(signature)}"

    # When it is presented
    status, headers, body = refusal(authorizer, f"Bearer {token}")

    # Then it is unauthorized for its signing method
    assert (status, body) == (401, UNAUTHORIZED)
    assert (
        headers["WWW-Authenticate"]
        == 'Bearer error="invalid_token", error_description="signing method HS256 is invalid"'
    )


def test_unknown_kid_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a token whose kid is not in the JWKS
    token = issuer.sign(claims(), headers={"kid": "rotated-away"})

    # When it is presented
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_token_signed_by_another_key_with_the_same_kid_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a forger's own RSA key announcing the issuer's kid
    forger = LocalIssuer(ISSUER_URL, CLIENTS)
    token = forger.sign(claims(), headers={"kid": issuer.kid})

    # When it is presented
    # Then the signature does not verify
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_wrong_issuer_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a token naming another issuer
    token = issuer.sign(claims(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"))

    # When it is presented
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_unknown_client_id_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a correctly signed token for a client outside the allowed list
    token = issuer.sign(claims(client_id="offboarded-tenant", sub="offboarded-tenant"))

    # When it is presented
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_id_token_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a token whose token_use is "id"
    token = issuer.sign(claims(token_use="id"))

    # When it is presented
    # Then only access tokens pass
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_token_expired_one_second_ago_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a token whose exp is one second in the past
    token = issuer.sign(claims(exp=NOW - 1))

    # When it is presented
    status, headers, body = refusal(authorizer, f"Bearer {token}")

    # Then it is unauthorized as expired
    assert (status, body) == (401, UNAUTHORIZED)
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token", error_description="the token has expired"'


def test_token_not_valid_before_a_future_nbf_is_401(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a token with nbf one minute ahead
    token = issuer.sign(claims(nbf=NOW + 60))

    # When it is presented
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_payload_tampered_after_signing_is_401(
    authorizer: JwtAuthorizer, issuer: LocalIssuer, allowed: set[str]
) -> None:
    # Given a read-only token whose payload is swapped for one claiming another tenant and the import scope
    header, _, signature = issuer.sign(claims(scope="rostering/read")).split(".")
    forged_payload = b64url(json.dumps(claims(client_id="tenant-b-client")).encode())
    token = f"{header}.{forged_payload}.{signature}"

    # When it is presented
    # Then the signature does not verify
    assert_unauthorized(refusal(authorizer, f"Bearer {token}"))


def test_read_only_token_on_an_import_route_is_403(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a valid token with only rostering/read
    token = issuer.sign(claims(scope="rostering/read"))

    # When it calls an import route
    status, headers, body = refusal(authorizer, f"Bearer {token}", IMPORT_ROUTE)

    # Then it is forbidden, not unauthorized
    assert (status, body) == (403, FORBIDDEN)
    assert headers["Content-Type"] == "application/json"


def test_read_only_token_on_a_read_route_is_accepted(authorizer: JwtAuthorizer, issuer: LocalIssuer) -> None:
    # Given a valid token with only rostering/read
    token = issuer.sign(claims(scope="rostering/read"))

    # When it calls a route that takes either scope
    jwt_block = authorizer.authorize(f"Bearer {token}", READ_ROUTE)

    # Then it passes with its one scope
    assert jwt_block["scopes"] == ["rostering/read"]


def test_jwks_is_fetched_from_the_provider_on_each_check(issuer: LocalIssuer) -> None:
    # Given a JWKS provider that has lost the issuer's key (e.g. after a key rotation)
    authorizer = JwtAuthorizer(
        issuer=ISSUER_URL, jwks=lambda: {"keys": []}, allowed_client_ids=lambda: CLIENTS, clock=lambda: NOW
    )

    # When a token signed with the old key is presented
    # Then it is unauthorized
    assert_unauthorized(refusal(authorizer, f"Bearer {issuer.sign(claims())}"))
