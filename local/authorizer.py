"""The deployed authorizer, emulated for the local stack: the same verification code
(``lambdas.authorizer``) and the same mapping of its outcome to HTTP as API Gateway applies to a
Lambda REQUEST authorizer (docs/AUTH.md):

- no ``Authorization`` header (a missing identity source): 401, the function is not invoked;
- the function fails with ``Unauthorized``: 401 ``{"message":"Unauthorized"}``;
- ``isAuthorized`` false: 403 ``{"message":"Forbidden"}``;
- otherwise ``requestContext.authorizer.lambda`` is the function's context.

The local answers also carry a ``WWW-Authenticate: Bearer error=...`` header (RFC 6750), which
API Gateway does not add for Lambda authorizers.

``JwtAuthorizer`` is the bare verifier with an in-memory list of tenants (unit tests, bench).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from lambdas.authorizer.tokens import (
    ALGORITHM,
    AuthorizerDenied,
    JwksProvider,
    ScopeMissing,
    TokenVerifier,
    Unauthorized,
)
from lambdas.common.routes import scopes_of
from lambdas.handlers.authorizer import decide

Forbidden = ScopeMissing  # API Gateway's word for it

__all__ = [
    "ALGORITHM",
    "AuthorizerDenied",
    "Forbidden",
    "JwtAuthorizer",
    "LambdaAuthorizer",
    "RequestAuthorizer",
    "ScopeMissing",
    "Unauthorized",
    "denial_response",
]

ClientIdsProvider = Callable[[], Collection[str]]


class RequestAuthorizer(Protocol):
    def request_context(self, authorization: str | None, route_key: str) -> dict[str, Any]:
        """``requestContext.authorizer`` for an authorized request; raises ``AuthorizerDenied``."""
        ...


def denial_response(denied: AuthorizerDenied) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` as API Gateway answers a refused request."""
    headers = {"Content-Type": "application/json", "WWW-Authenticate": denied.www_authenticate()}
    return denied.status, headers, json.dumps({"message": denied.message}, separators=(",", ":")).encode()


class JwtAuthorizer:
    """The verifier with an in-memory tenant list; ``request_context`` gives the ``jwt`` block."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks: JwksProvider,
        allowed_client_ids: ClientIdsProvider,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = TokenVerifier(
            issuer=issuer, jwks=jwks, is_tenant=lambda client_id: client_id in allowed_client_ids(), clock=clock
        )

    def authorize(self, authorization: str | None, route_scopes: Collection[str] = ()) -> dict[str, Any]:
        return self._verifier.authorize(authorization, route_scopes)

    def request_context(self, authorization: str | None, route_key: str) -> dict[str, Any]:
        return {"jwt": self.authorize(authorization, scopes_of(route_key) or ())}


class LambdaAuthorizer:
    """The deployed Lambda REQUEST authorizer's decision, mapped to HTTP as API Gateway maps it."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    def request_context(self, authorization: str | None, route_key: str) -> dict[str, Any]:
        if not authorization:
            raise Unauthorized("the request has no token")
        answer = decide(authorizer_event(authorization, route_key), self._verifier)
        if not answer["isAuthorized"]:
            raise ScopeMissing("the token does not have one of the route's scopes")
        return {"lambda": answer["context"]}


def authorizer_event(authorization: str, route_key: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The payload 2.0 REQUEST authorizer event API Gateway sends (the parts the function reads)."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:000000000000:local/$default/{route_key.replace(' ', '')}",
        "identitySource": [authorization, route_key],
        "routeKey": route_key,
        "headers": {**(headers or {}), "authorization": authorization},
    }
