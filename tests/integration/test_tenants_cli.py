"""``python -m ops.tenants`` against moto: Cognito app clients and the tenant registry the authorizer reads.

moto 5.2.5 lacks Cognito's client-secret rotation API (AddUserPoolClientSecret, ListUserPoolClientSecrets,
DeleteUserPoolClientSecret, 2025); ``secret_rotation_in_moto`` adds a minimal emulation so requests still
go through botocore's validation of the real API model.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cognitoidp.models import cognitoidp_backends
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult, EmptyResult

from lambdas.common.schema import TENANTS_TABLE
from local.resources import create_table
from ops.tenants import TenantAdmin, main

REGION = "us-east-1"
TABLE = "rostering-tenants"


@pytest.fixture
def secret_rotation_in_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = itertools.count(1)

    def client_of(response: CognitoIdpResponse) -> Any:
        pool = cognitoidp_backends[response.current_account][response.region].user_pools[
            response._get_param("UserPoolId")
        ]
        client = pool.clients[response._get_param("ClientId")]
        if not hasattr(client, "test_secrets"):
            created = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
            client.test_secrets = [
                {"ClientSecretId": "initial", "ClientSecretValue": client.secret, "ClientSecretCreateDate": created}
            ]
        return client

    def add(self: CognitoIdpResponse) -> ActionResult:
        client = client_of(self)
        number = next(counter)
        secret = {
            "ClientSecretId": f"secret-{number}",
            "ClientSecretValue": f"rotated-secret-{number}",
            "ClientSecretCreateDate": datetime.datetime(2026, 2, number, tzinfo=datetime.UTC),
        }
        if len(client.test_secrets) >= 2:
            raise AssertionError("Cognito refuses a third secret")
        client.test_secrets.append(secret)
        return ActionResult({"ClientSecretDescriptor": secret})

    def list_secrets(self: CognitoIdpResponse) -> ActionResult:
        hidden = [{k: v for k, v in s.items() if k != "ClientSecretValue"} for s in client_of(self).test_secrets]
        return ActionResult({"ClientSecrets": hidden})

    def delete(self: CognitoIdpResponse) -> EmptyResult:
        client = client_of(self)
        client.test_secrets = [
            s for s in client.test_secrets if s["ClientSecretId"] != self._get_param("ClientSecretId")
        ]
        return EmptyResult()

    monkeypatch.setattr(CognitoIdpResponse, "add_user_pool_client_secret", add, raising=False)
    monkeypatch.setattr(CognitoIdpResponse, "list_user_pool_client_secrets", list_secrets, raising=False)
    monkeypatch.setattr(CognitoIdpResponse, "delete_user_pool_client_secret", delete, raising=False)


@pytest.fixture
def stack(secret_rotation_in_moto: None) -> Iterator[dict[str, str]]:
    """What the deployed stack provides: the pool with the rostering resource server and the tenants table."""
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool_id = cognito.create_user_pool(PoolName="rostering")["UserPool"]["Id"]
        cognito.create_resource_server(
            UserPoolId=pool_id,
            Identifier="rostering",
            Name="rostering",
            Scopes=[
                {"ScopeName": "import", "ScopeDescription": "upload files"},
                {"ScopeName": "read", "ScopeDescription": "read status and reports"},
            ],
        )
        create_table(boto3.client("dynamodb", region_name=REGION), TENANTS_TABLE, TABLE)
        yield {"pool": pool_id}


def run(stack: dict[str, str], *args: str) -> int:
    return main(["--user-pool-id", stack["pool"], "--table", TABLE, "--region", REGION, *args])


def create(stack: dict[str, str], capsys: pytest.CaptureFixture[str], name: str = "district-1") -> dict[str, str]:
    assert run(stack, "create", name) == 0
    return printed_credentials(capsys.readouterr().out)


def printed_credentials(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines() if line.startswith("client_"))


def admin(stack: dict[str, str], cognito: Any = None, dynamodb: Any = None) -> TenantAdmin:
    return TenantAdmin(
        cognito=cognito or boto3.client("cognito-idp", region_name=REGION),
        dynamodb=dynamodb or boto3.client("dynamodb", region_name=REGION),
        user_pool_id=stack["pool"],
        table=TABLE,
    )


def pool_clients(stack: dict[str, str]) -> list[dict[str, Any]]:
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pages = cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=stack["pool"])
    return [client for page in pages for client in page["UserPoolClients"]]


def test_create_makes_a_client_credentials_client_with_both_scopes(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # When an operator creates a tenant
    tenant = create(stack, capsys)

    # Then Cognito holds a confidential client_credentials client with both scopes and a 60-minute token
    client = boto3.client("cognito-idp", region_name=REGION).describe_user_pool_client(
        UserPoolId=stack["pool"], ClientId=tenant["client_id"]
    )["UserPoolClient"]
    assert client["ClientName"] == "district-1"
    assert client["ClientSecret"] == tenant["client_secret"]
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["AllowedOAuthScopes"] == ["rostering/import", "rostering/read"]
    assert (client["AccessTokenValidity"], client["TokenValidityUnits"]["AccessToken"]) == (60, "minutes")
    # And the registry names it an ACTIVE tenant
    assert admin(stack).is_tenant(tenant["client_id"])


def test_create_again_finishes_nothing_and_prints_the_same_credentials(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    first = create(stack, capsys)
    again = create(stack, capsys)
    assert again == first
    assert len(pool_clients(stack)) == 1


def test_a_client_not_made_by_the_tenant_command_is_not_a_tenant(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a tenant and another app client of the same pool made by hand
    tenant = create(stack, capsys)
    other = boto3.client("cognito-idp", region_name=REGION).create_user_pool_client(
        UserPoolId=stack["pool"], ClientName="admin-tool", GenerateSecret=True
    )["UserPoolClient"]["ClientId"]

    # Then only the tenant is a tenant, and only it is listed
    assert admin(stack).is_tenant(tenant["client_id"]) and not admin(stack).is_tenant(other)
    run(stack, "list")
    out = capsys.readouterr().out
    assert out == f"{tenant['client_id']}\tdistrict-1\n"
    assert tenant["client_secret"] not in out


def test_rotate_secret_keeps_the_client_id_and_prints_a_new_secret(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a tenant
    tenant = create(stack, capsys)

    # When its secret is rotated
    run(stack, "rotate-secret", tenant["client_id"])
    rotated = printed_credentials(capsys.readouterr().out)

    # Then the tenant (client id) is unchanged, the new secret differs, and the old one still works for now
    assert rotated["client_id"] == tenant["client_id"]
    assert rotated["client_secret"] not in ("", tenant["client_secret"])
    secrets = boto3.client("cognito-idp", region_name=REGION).list_user_pool_client_secrets(
        UserPoolId=stack["pool"], ClientId=tenant["client_id"]
    )["ClientSecrets"]
    assert [s["ClientSecretId"] for s in secrets] == ["initial", "secret-1"]


def test_second_rotation_retires_the_oldest_secret(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tenant whose secret was rotated once (two secrets, Cognito's maximum)
    tenant = create(stack, capsys)
    run(stack, "rotate-secret", tenant["client_id"])

    # When it is rotated again
    run(stack, "rotate-secret", tenant["client_id"])

    # Then the original secret is gone and the last two remain
    secrets = boto3.client("cognito-idp", region_name=REGION).list_user_pool_client_secrets(
        UserPoolId=stack["pool"], ClientId=tenant["client_id"]
    )["ClientSecrets"]
    assert [s["ClientSecretId"] for s in secrets] == ["secret-1", "secret-2"]


def test_rotate_with_retire_previous_leaves_only_the_new_secret(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a tenant whose secret leaked
    tenant = create(stack, capsys)

    # When it is rotated with --retire-previous
    run(stack, "rotate-secret", tenant["client_id"], "--retire-previous")

    # Then only the new secret is valid
    secrets = boto3.client("cognito-idp", region_name=REGION).list_user_pool_client_secrets(
        UserPoolId=stack["pool"], ClientId=tenant["client_id"]
    )["ClientSecrets"]
    assert [s["ClientSecretId"] for s in secrets] == ["secret-1"]


def test_delete_unregisters_then_removes_the_client(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given two tenants
    leaving, staying = create(stack, capsys, "district-1"), create(stack, capsys, "district-2")

    # When one is deleted (twice: the command is idempotent)
    assert run(stack, "delete", leaving["client_id"]) == 0
    assert run(stack, "delete", leaving["client_id"]) == 0

    # Then it is no tenant and its client is gone; the other is untouched; the name can be used again
    assert not admin(stack).is_tenant(leaving["client_id"]) and admin(stack).is_tenant(staying["client_id"])
    assert [c["ClientId"] for c in pool_clients(stack)] == [staying["client_id"]]
    assert create(stack, capsys, "district-1")["client_id"] not in (leaving["client_id"], staying["client_id"])


def test_create_refuses_a_token_lifetime_cognito_would_reject(stack: dict[str, str]) -> None:
    # When an operator asks for a 2-minute token
    # Then the command stops with a usage error before touching Cognito
    with pytest.raises(SystemExit) as exit_info:
        run(stack, "create", "district-1", "--token-minutes", "2")
    assert exit_info.value.code == 2
    assert pool_clients(stack) == []


def test_rotating_a_client_that_is_no_tenant_is_refused(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(stack, "rotate-secret", "not-a-tenant") == 1
    assert "not a registered tenant" in capsys.readouterr().err


def test_set_threshold_stores_the_tenants_default_and_clear_removes_it(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from decimal import Decimal

    from lambdas.tenants.settings import TenantSettings

    # Given a tenant
    tenant = create(stack, capsys)["client_id"]
    settings = TenantSettings(TABLE, resource=boto3.resource("dynamodb", region_name=REGION))
    # When its default threshold is set, then uploads without one use 25 %; cleared, none
    assert run(stack, "set-threshold", tenant, "--change-threshold", "25") == 0
    assert settings.change_threshold(tenant) == Decimal(25)
    assert run(stack, "set-threshold", tenant, "--clear") == 0
    assert settings.change_threshold(tenant) is None


@pytest.mark.parametrize("value", ["101", "-1", "ten"])
def test_set_threshold_refuses_what_the_upload_field_refuses(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str], value: str
) -> None:
    tenant = create(stack, capsys)["client_id"]
    assert run(stack, "set-threshold", tenant, "--change-threshold", value) == 1


def test_set_threshold_for_a_client_that_is_no_tenant_is_refused(stack: dict[str, str]) -> None:
    assert run(stack, "set-threshold", "not-a-tenant", "--change-threshold", "10") == 1
