"""The HTTP API JWT authorizer, emulated for the local stack.

It checks what API Gateway checks (RS256 signature by ``kid`` against the issuer's JWKS, exact
``iss``, ``aud`` or else ``client_id`` in the allowed list, ``exp``/``nbf``, any-of route scopes)
plus ``token_use == "access"``. On success it returns ``requestContext.authorizer.jwt`` as API
Gateway builds it; on failure it raises ``AuthorizerDenied``, which ``denial_response`` turns
into API Gateway's answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from jose import jwt
from jose.exceptions import JOSEError

ALGORITHM = "RS256"
# Time claims are checked here with the injectable clock; python-jose checks signature and algorithm.
_DECODE_OPTIONS = {
    "verify_signature": True,
    "verify_aud": False,
    "verify_iat": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
    "verify_at_hash": False,
}

JwksProvider = Callable[[], Mapping[str, Any]]
ClientIdsProvider = Callable[[], Collection[str]]


class AuthorizerDenied(Exception):
    status: ClassVar[int]
    message: ClassVar[str]
    error: ClassVar[str]

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def www_authenticate(self) -> str:
        description = "".join(char for char in self.description if char.isprintable() and char not in '"\\')
        return f'Bearer error="{self.error}", error_description="{description}"'


class Unauthorized(AuthorizerDenied):
    status, message, error = 401, "Unauthorized", "invalid_token"


class InsufficientScope(AuthorizerDenied):
    status, message, error = 403, "Forbidden", "insufficient_scope"


def denial_response(denied: AuthorizerDenied) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` exactly as API Gateway answers a refused request."""
    headers = {"Content-Type": "application/json", "WWW-Authenticate": denied.www_authenticate()}
    return denied.status, headers, json.dumps({"message": denied.message}, separators=(",", ":")).encode()


class JwtAuthorizer:
    def __init__(
        self,
        *,
        issuer: str,
        jwks: JwksProvider,
        allowed_client_ids: ClientIdsProvider,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer
        self._jwks = jwks
        self._allowed_client_ids = allowed_client_ids
        self._clock = clock

    def authorize(self, authorization: str | None, route_scopes: Collection[str] = ()) -> dict[str, Any]:
        """``{"claims": {...}, "scopes": [...]}`` for a valid token carrying one of ``route_scopes``
        (any token when the route has none); raises ``Unauthorized`` or ``InsufficientScope``."""
        claims = self._verified_claims(_bearer_token(authorization))
        self._check_claims(claims)
        scope_claim = claims.get("scope")
        scopes = scope_claim.split() if isinstance(scope_claim, str) else []
        if route_scopes and not set(route_scopes).intersection(scopes):
            raise InsufficientScope("the token does not have one of the route's scopes")
        return {"claims": {name: str(value) for name, value in claims.items()}, "scopes": scopes}

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as error:
            raise Unauthorized("the token is not a valid JWT") from error
        if header.get("alg") != ALGORITHM:
            raise Unauthorized(f"signing method {header.get('alg')} is invalid")
        key = next((key for key in self._jwks().get("keys", []) if key.get("kid") == header.get("kid")), None)
        if key is None:
            raise Unauthorized("no key in the JWKS matches the token's kid")
        try:
            claims = jwt.decode(token, dict(key), algorithms=[ALGORITHM], options=_DECODE_OPTIONS)
        except JOSEError as error:
            raise Unauthorized("the token signature is invalid") from error
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        if claims.get("iss") != self._issuer:
            raise Unauthorized("the token has an invalid issuer")
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        allowed = self._allowed_client_ids()
        if not any(isinstance(value, str) and value in allowed for value in audiences):
            raise Unauthorized("the token does not have a valid audience")
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or now >= expires:
            raise Unauthorized("the token has expired")
        not_before = claims.get("nbf")
        if not_before is not None and (not isinstance(not_before, int | float) or now < not_before):
            raise Unauthorized("the token is not valid yet")
        if claims.get("token_use") != "access":
            raise Unauthorized("the token is not an access token")


def _bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization`` value, with or without a ``Bearer`` scheme (any case)."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else value
    if not token or token.lower() == "bearer":
        raise Unauthorized("the request has no token")
    return token
