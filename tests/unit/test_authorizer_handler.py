"""The deployed tenant authorizer's handler: its simple responses and the exact failure API Gateway
turns into 401 (the verification itself is covered by test_local_authorizer.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lambdas.authorizer.registry import TenantRegistry
from lambdas.authorizer.tokens import TokenVerifier
from lambdas.handlers import authorizer as handler
from lambdas.oauth.request import TokenRequest
from local.authorizer import authorizer_event
from local.issuer import LocalIssuer

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"


class Registry:
    def __init__(self, tenants: set[str]) -> None:
        self.tenants, self.calls = tenants, 0

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        client_id = kwargs["Key"]["pk"]["S"]
        return {"Item": {"pk": {"S": client_id}, "status": {"S": "ACTIVE"}}} if client_id in self.tenants else {}


@pytest.fixture
def issuer() -> LocalIssuer:
    return LocalIssuer(ISSUER, {"tenant-a": "secret-a", "outsider": "secret-o"})


@pytest.fixture
def verifier(issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> TokenVerifier:
    registry = TenantRegistry("tenants", client=Registry({"tenant-a"}))
    built = TokenVerifier(issuer=ISSUER, jwks=issuer.jwks, is_tenant=registry.is_tenant)
    monkeypatch.setattr(handler, "_verifier", built)
    return built


def token(issuer: LocalIssuer, client_id: str = "tenant-a", scope: str = "rostering/read") -> str:
    secret = {"tenant-a": "secret-a", "outsider": "secret-o"}[client_id]
    answer = issuer.issue(TokenRequest(client_id=client_id, client_secret=secret, scope=scope))
    return f"Bearer {answer['access_token']}"


def test_a_tenant_with_the_route_scope_is_authorized_with_its_claims_as_context(issuer, verifier, lambda_context):
    answer = handler.lambda_handler(authorizer_event(token(issuer), "GET /api/v1/status/{referenceId}"), lambda_context)
    assert answer["isAuthorized"] is True
    assert answer["context"]["client_id"] == "tenant-a" and answer["context"]["scope"] == "rostering/read"


def test_a_token_without_the_route_scope_is_not_authorized(issuer, verifier, lambda_context):
    answer = handler.lambda_handler(authorizer_event(token(issuer), "POST /api/v1/upload"), lambda_context)
    assert answer == {"isAuthorized": False}


@pytest.mark.parametrize("case", ["garbage", "outsider"])
def test_an_invalid_token_or_a_client_that_is_no_tenant_fails_with_exactly_unauthorized(
    issuer, verifier, lambda_context, case
):
    authorization = "Bearer not.a.jwt" if case == "garbage" else token(issuer, "outsider")
    with pytest.raises(Exception) as failure:
        handler.lambda_handler(authorizer_event(authorization, "GET /api/v1/status/{referenceId}"), lambda_context)
    assert type(failure.value) is Exception and str(failure.value) == "Unauthorized"


def test_the_registry_answer_is_cached_for_a_minute() -> None:
    now = [1000.0]
    backend = Registry({"tenant-a"})
    registry = TenantRegistry("tenants", client=backend, clock=lambda: now[0])
    assert registry.is_tenant("tenant-a") and registry.is_tenant("tenant-a")
    assert backend.calls == 1
    backend.tenants.clear()
    now[0] += 61
    assert not registry.is_tenant("tenant-a") and backend.calls == 2


def test_the_jwks_is_fetched_once_then_refreshed_when_stale() -> None:
    from lambdas.authorizer.jwks import Jwks

    fetched: list[str] = []
    now = [time.monotonic()]
    jwks = Jwks(ISSUER, refresh_seconds=60, fetch=lambda url: fetched.append(url) or {"keys": []}, clock=lambda: now[0])
    jwks()
    jwks()
    now[0] += 61
    jwks()
    assert fetched == [f"{ISSUER}/.well-known/jwks.json"] * 2
