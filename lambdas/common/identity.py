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
        """Read ``requestContext.authorizer.jwt``. Claims arrive as strings; ``scopes`` may be
        null, in which case the space-separated Cognito ``scope`` claim is used."""
        jwt = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}
        claims = jwt.get("claims") or {}
        tenant = claims.get("client_id")
        if not isinstance(tenant, str) or not tenant:
            raise Forbidden()
        scopes = jwt.get("scopes")
        if not scopes:
            scope_claim = claims.get("scope")
            scopes = scope_claim.split() if isinstance(scope_claim, str) else []
        return cls(tenant=tenant, scopes=frozenset(s for s in scopes if isinstance(s, str)))

    def require_any(self, *scopes: str) -> Caller:
        """Defence in depth behind the authorizer: 403 unless one of ``scopes`` is granted."""
        if self.scopes.isdisjoint(scopes):
            raise Forbidden()
        return self
