"""Onboarding at scale and under crashes: 1,000 tenants through ``ops.tenants`` (moto), with the
command killed between its steps; no half-made tenant is ever accepted, a re-run finishes the
work, and the authorizer accepts exactly the registered tenants (no per-tenant configuration)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.authorizer.registry import TenantRegistry
from lambdas.authorizer.tokens import TokenVerifier, Unauthorized
from lambdas.common.schema import TENANTS_TABLE
from local.issuer import LocalIssuer
from local.resources import create_table
from ops.tenants import DEFAULT_SCOPES, TenantAdmin

REGION = "us-east-1"
TABLE = "rostering-tenants"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
TENANTS = 1_000


class Crash(Exception):
    """The operator's process dies here."""


class CrashAfter:
    """A boto3 client that dies right after the ``nth`` successful call of ``method``."""

    def __init__(self, client: Any, method: str, nth: int = 1) -> None:
        self._client, self._method, self._left = client, method, nth

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != self._method:
            return attribute

        def call(**kwargs: Any) -> Any:
            result = attribute(**kwargs)
            self._left -= 1
            if self._left == 0:
                raise Crash(name)
            return result

        return call


@pytest.fixture
def pool() -> Iterator[str]:
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool_id = cognito.create_user_pool(PoolName="rostering")["UserPool"]["Id"]
        cognito.create_resource_server(
            UserPoolId=pool_id,
            Identifier="rostering",
            Name="rostering",
            Scopes=[{"ScopeName": "import", "ScopeDescription": "i"}, {"ScopeName": "read", "ScopeDescription": "r"}],
        )
        create_table(boto3.client("dynamodb", region_name=REGION), TENANTS_TABLE, TABLE)
        yield pool_id


def admin(pool: str, *, cognito: Any = None, dynamodb: Any = None) -> TenantAdmin:
    return TenantAdmin(
        cognito=cognito or boto3.client("cognito-idp", region_name=REGION),
        dynamodb=dynamodb or boto3.client("dynamodb", region_name=REGION),
        user_pool_id=pool,
        table=TABLE,
    )


def clients_named(pool: str, name: str) -> list[str]:
    pages = (
        boto3.client("cognito-idp", region_name=REGION)
        .get_paginator("list_user_pool_clients")
        .paginate(UserPoolId=pool)
    )
    return [c["ClientId"] for page in pages for c in page["UserPoolClients"] if c["ClientName"] == name]


def create(tenants: TenantAdmin, name: str) -> Any:
    return tenants.create(name, scopes=DEFAULT_SCOPES, token_minutes=60)


# Each step of `create`, as the boto3 call that ends it: claim, client, link, registration.
STEPS = [
    ("dynamodb", "put_item", 1),  # 1. name claimed
    ("cognito", "create_user_pool_client", 1),  # 2. app client created
    ("dynamodb", "update_item", 1),  # 3. client linked to the name
    ("dynamodb", "put_item", 2),  # 4. registered (committed), crash before the secret is printed
]


@pytest.mark.parametrize(("service", "method", "nth"), STEPS, ids=[f"{m}#{n}" for _, m, n in STEPS])
def test_a_crash_after_any_step_leaves_no_half_made_tenant_and_a_rerun_finishes(
    pool: str, service: str, method: str, nth: int
) -> None:
    # Given the command dies right after one of its steps
    crashing = CrashAfter(
        boto3.client("cognito-idp" if service == "cognito" else service, region_name=REGION), method, nth
    )
    with pytest.raises(Crash):
        create(admin(pool, **{service: crashing}), "district-7")

    # Then the client (if any) is a tenant only if the registration step completed
    made = clients_named(pool, "district-7")
    assert len(made) <= 1
    committed = (method, nth) == ("put_item", 2)
    assert [admin(pool).is_tenant(client_id) for client_id in made] == ([True] if committed else [False] * len(made))

    # When the operator runs the same command again
    credentials = create(admin(pool), "district-7")

    # Then exactly one client exists, it is the tenant, and its secret is the client's
    assert clients_named(pool, "district-7") == [credentials.client_id]
    assert admin(pool).is_tenant(credentials.client_id)
    secret = boto3.client("cognito-idp", region_name=REGION).describe_user_pool_client(
        UserPoolId=pool, ClientId=credentials.client_id
    )["UserPoolClient"]["ClientSecret"]
    assert credentials.client_secret == secret


def test_a_crash_while_deleting_never_leaves_an_accepted_tenant_without_its_client(pool: str) -> None:
    tenant = create(admin(pool), "district-8")
    crashing = CrashAfter(boto3.client("dynamodb", region_name=REGION), "update_item")
    with pytest.raises(Crash):
        admin(pool, dynamodb=crashing).delete(tenant.client_id)
    assert not admin(pool).is_tenant(tenant.client_id)  # refused from the first step on
    admin(pool).delete(tenant.client_id)
    assert clients_named(pool, "district-8") == []


def test_one_thousand_tenants_with_a_crash_midway_are_all_accepted_by_the_same_authorizer(pool: str) -> None:
    started = time.perf_counter()
    tenants = admin(pool)
    made: dict[str, str] = {}
    for number in range(TENANTS):
        name = f"district-{number:04d}"
        if number == TENANTS // 2:  # the operator's laptop dies after creating this client
            crashing = CrashAfter(boto3.client("cognito-idp", region_name=REGION), "create_user_pool_client")
            with pytest.raises(Crash):
                create(admin(pool, cognito=crashing), name)
        made[name] = create(tenants, name).client_id
    elapsed = time.perf_counter() - started

    # Every tenant has exactly one client and is registered; no configuration grew with them
    assert len(set(made.values())) == TENANTS
    assert {t.client_id for t in tenants.list_tenants()} == set(made.values())

    # And the authorizer's verifier accepts each registered tenant's token and refuses any other client
    issuer = LocalIssuer(ISSUER, {})
    registry = TenantRegistry(TABLE, client=boto3.client("dynamodb", region_name=REGION))
    verifier = TokenVerifier(issuer=ISSUER, jwks=issuer.jwks, is_tenant=registry.is_tenant)

    def token(client_id: str) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "client_id": client_id, "sub": client_id, "token_use": "access",
                  "scope": "rostering/import rostering/read", "iat": now, "exp": now + 3600, "jti": "j"}  # fmt: skip
        return issuer.sign(claims)

    for client_id in list(made.values())[:: TENANTS // 20]:
        assert verifier.authorize(f"Bearer {token(client_id)}")["claims"]["client_id"] == client_id
    outsider = boto3.client("cognito-idp", region_name=REGION).create_user_pool_client(
        UserPoolId=pool, ClientName="not-via-the-command"
    )["UserPoolClient"]["ClientId"]
    with pytest.raises(Unauthorized):
        verifier.authorize(f"Bearer {token(outsider)}")
    print(f"1,000 tenants onboarded in {elapsed:.1f} s (moto)")
