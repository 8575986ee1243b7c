"""A Cognito-compatible token issuer for the local stack and the tests.

``LocalIssuer`` signs RS256 access tokens with the claims Cognito puts in a client-credentials
token and serves its JWKS. ``LocalIssuer.wsgi_app`` answers like the user pool domain:
``POST /oauth2/token`` (urlencoded only, Basic or ``client_secret_post``; every error a 400, as
Cognito does) and ``GET <issuer path>/.well-known/jwks.json``.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from lambdas.common.identity import SCOPE_IMPORT, SCOPE_READ
from lambdas.oauth.errors import InvalidClient, InvalidScope, OAuthError
from lambdas.oauth.request import TokenRequest, parse_token_request, read_form

DEFAULT_LOCAL_CLIENTS = "demo-client:demo-secret"
DEFAULT_TOKEN_TTL_SECONDS = 3600
CLIENT_SCOPES = (SCOPE_IMPORT, SCOPE_READ)
ENDPOINT_PATH = "/oauth2/token"
JWKS_SUFFIX = "/.well-known/jwks.json"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def parse_clients(spec: str) -> dict[str, str]:
    """``"id:secret,id2:secret2"`` as ``{id: secret}``."""
    clients: dict[str, str] = {}
    for entry in filter(None, (item.strip() for item in spec.split(","))):
        client_id, colon, client_secret = entry.partition(":")
        if not colon or not client_id or not client_secret:
            raise ValueError(f"LOCAL_CLIENTS entries are client_id:client_secret, got one for {client_id!r}")
        clients[client_id] = client_secret
    if not clients:
        raise ValueError("LOCAL_CLIENTS names no client")
    return clients


class LocalIssuer:
    def __init__(
        self,
        issuer_url: str,
        clients: Mapping[str, str],
        *,
        ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer_url = issuer_url.rstrip("/")
        self.ttl_seconds = ttl_seconds
        self._clients = dict(clients)
        self._clock = clock
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._private_pem = self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.kid = secrets.token_urlsafe(16)

    @classmethod
    def from_env(cls, issuer_url: str, environ: Mapping[str, str] | None = None) -> LocalIssuer:
        env = os.environ if environ is None else environ
        return cls(
            issuer_url,
            parse_clients(env.get("LOCAL_CLIENTS") or DEFAULT_LOCAL_CLIENTS),
            ttl_seconds=int(env.get("TOKEN_TTL_SECONDS") or DEFAULT_TOKEN_TTL_SECONDS),
        )

    @property
    def jwks_url(self) -> str:
        return self.issuer_url + JWKS_SUFFIX

    def client_ids(self) -> list[str]:
        return list(self._clients)

    def add_client(self, client_id: str, client_secret: str) -> None:
        self._clients[client_id] = client_secret

    def issue(self, token_request: TokenRequest) -> dict[str, Any]:
        """Cognito's token answer for an authenticated client; ``OAuthError`` otherwise."""
        self._authenticate(token_request.client_id, token_request.client_secret)
        scopes = _granted_scopes(token_request.scope)
        now = int(self._clock())
        claims = {
            "sub": token_request.client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": now,
            "iss": self.issuer_url,
            "exp": now + self.ttl_seconds,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": token_request.client_id,
        }
        return {"access_token": self.sign(claims), "expires_in": self.ttl_seconds, "token_type": "Bearer"}

    def sign(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        """An RS256 JWT over ``claims`` with this issuer's key and ``kid`` (extra ``headers`` win)."""
        return jwt.encode(
            dict(claims), self._private_pem, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )

    def public_key_pem(self) -> bytes:
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        numbers = self._private_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    def token_endpoint(
        self, body: bytes, content_type: str | None, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """``POST /oauth2/token`` as Cognito answers it: urlencoded only, every error a 400."""
        try:
            form = read_form(body, content_type, allow_multipart=False)
            return 200, self.issue(parse_token_request(form, authorization))
        except OAuthError as error:
            return 400, error.body()

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == ENDPOINT_PATH and method == "POST":
            status, body = self.token_endpoint(
                _read_wsgi_body(environ), environ.get("CONTENT_TYPE"), environ.get("HTTP_AUTHORIZATION")
            )
            return _json(start_response, status, body, {"Cache-Control": "no-store"})
        if path == urlsplit(self.jwks_url).path and method == "GET":
            return _json(start_response, 200, self.jwks(), {})
        return _json(start_response, 404, {"message": "Not Found"}, {})

    def _authenticate(self, client_id: str, client_secret: str) -> None:
        expected = self._clients.get(client_id)
        # Compare against a dummy for unknown clients too, so timing does not reveal which ids exist.
        matches = hmac.compare_digest(client_secret.encode(), (expected or secrets.token_hex(16)).encode())
        if expected is None or not matches:
            raise InvalidClient()


def _granted_scopes(requested: str | None) -> list[str]:
    if requested is None:
        return list(CLIENT_SCOPES)
    scopes = requested.split()
    if not scopes or any(scope not in CLIENT_SCOPES for scope in scopes):
        raise InvalidScope()
    return list(dict.fromkeys(scopes))


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _read_wsgi_body(environ: Mapping[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json(
    start_response: StartResponse, status: int, body: Mapping[str, Any], headers: Mapping[str, str]
) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers.items()],
    )
    return [payload]
