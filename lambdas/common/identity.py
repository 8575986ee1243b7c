"""The caller as the JWT authorizer describes it: tenant (token ``client_id``) and scopes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.common.errors import Forbidden

RESOURCE_SERVER = "rostering"
SCOPE_IMPORT = f"{RESOURCE_SERVER}/import"
SCOPE_READ = f"{RESOURCE_SERVER}/read"


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    scopes: frozenset[str]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Caller:
        """Read the authorizer's context: ``requestContext.authorizer.lambda`` (the tenant
        authorizer's ``client_id`` and ``scope``) or ``requestContext.authorizer.jwt`` (claims as
        strings; ``scopes`` may be null, then the space-separated Cognito ``scope`` claim is used)."""
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        if isinstance(authorizer.get("lambda"), dict):  # the tenant authorizer's context (docs/AUTH.md)
            return cls._from_claims(authorizer["lambda"], None)
        jwt = authorizer.get("jwt") or {}
        return cls._from_claims(jwt.get("claims") or {}, jwt.get("scopes"))

    @classmethod
    def _from_claims(cls, claims: Mapping[str, Any], scopes: Any) -> Caller:
        tenant = claims.get("client_id")
        if not isinstance(tenant, str) or not tenant:
            raise Forbidden()
        if not scopes:
            scope_claim = claims.get("scope")
            scopes = scope_claim.split() if isinstance(scope_claim, str) else []
        return cls(tenant=tenant, scopes=frozenset(s for s in scopes if isinstance(s, str)))

    def require_any(self, *scopes: str) -> Caller:
        """Defence in depth behind the authorizer: 403 unless one of ``scopes`` is granted."""
        if self.scopes.isdisjoint(scopes):
            raise Forbidden()
        return self
