"""The HTTP API Lambda REQUEST authorizer (payload 2.0, simple responses) in front of every
protected route. Identity sources: the ``Authorization`` header and ``$context.routeKey``, so
API Gateway caches each answer per token and route (docs/AUTH.md).

- a valid token of a registered tenant with one of the route's scopes: ``isAuthorized`` true, and
  the context the handlers read (``client_id``, ``scope``, ...);
- a valid token without the route's scope: ``isAuthorized`` false, which API Gateway answers 403
  ``{"message":"Forbidden"}``;
- anything else (no, malformed, expired, foreign or unregistered token): the function fails with
  the exact message ``Unauthorized``, which API Gateway answers 401 ``{"message":"Unauthorized"}``.
"""

from __future__ import annotations

from typing import Any

from lambdas.authorizer.jwks import Jwks
from lambdas.authorizer.registry import TenantRegistry
from lambdas.authorizer.tokens import ScopeMissing, TokenVerifier, Unauthorized
from lambdas.common.config import Env, Settings
from lambdas.common.observability import logger
from lambdas.common.routes import scopes_of

CONTEXT_CLAIMS = ("client_id", "scope", "sub", "jti", "exp", "iat", "token_use")

_verifier: TokenVerifier | None = None


def verifier() -> TokenVerifier:
    """Built on first use from the environment, then kept for the warm function's life."""
    global _verifier
    if _verifier is None:
        settings = Settings.from_env(require=(Env.TENANTS_TABLE_NAME, Env.TOKEN_ISSUER_URL))
        registry = TenantRegistry(settings.tenants_table)
        issuer = settings.token_issuer_url
        _verifier = TokenVerifier(issuer=issuer, jwks=Jwks(issuer), is_tenant=registry.is_tenant)
    return _verifier


def decide(event: dict[str, Any], token_verifier: TokenVerifier) -> dict[str, Any]:
    """The simple response for ``event``; raises ``Unauthorized`` for a token API Gateway must refuse with 401."""
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    scopes = scopes_of(str(event.get("routeKey", "")))
    try:
        verified = token_verifier.authorize(headers.get("authorization"), scopes or ())
    except ScopeMissing:
        return {"isAuthorized": False}
    if not scopes:  # a route the table does not protect never reaches this authorizer
        return {"isAuthorized": False}
    claims = verified["claims"]
    return {"isAuthorized": True, "context": {name: claims[name] for name in CONTEXT_CLAIMS if name in claims}}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return decide(event, verifier())
    except Unauthorized as refused:
        logger.info("token refused", reason=refused.description, route=event.get("routeKey"))
        raise Exception("Unauthorized") from None
