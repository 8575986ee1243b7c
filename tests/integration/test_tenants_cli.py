"""``python -m ops.tenants`` against moto: Cognito app clients, the SSM audience and the live JWT authorizer.

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

from ops.tenants import DEFAULT_PARAMETER, PLACEHOLDER_CLIENT_ID, main

REGION = "us-east-1"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"


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
    """What the deployed stack provides: the pool with the rostering resource server, the HTTP API and its JWT
    authorizer, and the audience parameter created by ``init``."""
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
        apigateway = boto3.client("apigatewayv2", region_name=REGION)
        api_id = apigateway.create_api(Name="rostering", ProtocolType="HTTP")["ApiId"]
        authorizer_id = apigateway.create_authorizer(
            ApiId=api_id,
            Name="jwt",
            AuthorizerType="JWT",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Issuer": ISSUER, "Audience": [PLACEHOLDER_CLIENT_ID]},
        )["AuthorizerId"]
        yield {"pool": pool_id, "api": api_id, "authorizer": authorizer_id}


def run(stack: dict[str, str], *args: str) -> int:
    return main(["--user-pool-id", stack["pool"], "--region", REGION, *args])


def authorizer_flags(stack: dict[str, str]) -> list[str]:
    return ["--api-id", stack["api"], "--authorizer-id", stack["authorizer"]]


def create(stack: dict[str, str], capsys: pytest.CaptureFixture[str], name: str = "district-1") -> dict[str, str]:
    run(stack, "create", name, *authorizer_flags(stack))
    return printed_credentials(capsys.readouterr().out)


def printed_credentials(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines() if line.startswith("client_"))


def audience_parameter() -> list[str]:
    return (
        boto3.client("ssm", region_name=REGION).get_parameter(Name=DEFAULT_PARAMETER)["Parameter"]["Value"].split(",")
    )


def live_audience(stack: dict[str, str]) -> list[str]:
    apigateway = boto3.client("apigatewayv2", region_name=REGION)
    return apigateway.get_authorizer(ApiId=stack["api"], AuthorizerId=stack["authorizer"])["JwtConfiguration"][
        "Audience"
    ]


def test_init_creates_the_audience_parameter_with_a_placeholder(stack: dict[str, str]) -> None:
    # When init runs on a fresh account
    assert run(stack, "init") == 0

    # Then the StringList exists with the placeholder (the authorizer audience cannot be empty)
    parameter = boto3.client("ssm", region_name=REGION).get_parameter(Name=DEFAULT_PARAMETER)["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("StringList", PLACEHOLDER_CLIENT_ID)


def test_init_keeps_an_existing_parameter(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tenant already onboarded
    run(stack, "init")
    tenant = create(stack, capsys)

    # When init runs again
    run(stack, "init")

    # Then the audience still names the tenant
    assert audience_parameter() == [tenant["client_id"]]


def test_create_makes_a_client_credentials_client_with_both_scopes(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # When an operator creates a tenant
    run(stack, "init")
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


def test_create_adds_the_tenant_to_the_parameter_and_the_live_authorizer(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one tenant
    run(stack, "init")
    first = create(stack, capsys, "district-1")

    # When a second tenant is created
    second = create(stack, capsys, "district-2")

    # Then both are in the SSM audience and in the deployed authorizer, without the placeholder
    expected = sorted([first["client_id"], second["client_id"]])
    assert audience_parameter() == expected
    assert live_audience(stack) == expected


def test_create_keeps_the_authorizer_issuer(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # When a tenant is created
    run(stack, "init")
    create(stack, capsys)

    # Then the authorizer still trusts the pool's issuer
    apigateway = boto3.client("apigatewayv2", region_name=REGION)
    authorizer = apigateway.get_authorizer(ApiId=stack["api"], AuthorizerId=stack["authorizer"])
    assert authorizer["JwtConfiguration"]["Issuer"] == ISSUER


def test_list_shows_ids_and_names_but_no_secret(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tenant
    run(stack, "init")
    tenant = create(stack, capsys)

    # When the operator lists tenants
    run(stack, "list")
    out = capsys.readouterr().out

    # Then the tenant is listed without its secret
    assert out == f"{tenant['client_id']}\tdistrict-1\trostering/import rostering/read\n"
    assert tenant["client_secret"] not in out


def test_rotate_secret_keeps_the_client_id_and_prints_a_new_secret(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a tenant
    run(stack, "init")
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
    run(stack, "init")
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
    run(stack, "init")
    tenant = create(stack, capsys)

    # When it is rotated with --retire-previous
    run(stack, "rotate-secret", tenant["client_id"], "--retire-previous")

    # Then only the new secret is valid
    secrets = boto3.client("cognito-idp", region_name=REGION).list_user_pool_client_secrets(
        UserPoolId=stack["pool"], ClientId=tenant["client_id"]
    )["ClientSecrets"]
    assert [s["ClientSecretId"] for s in secrets] == ["secret-1"]


def test_delete_removes_the_client_and_its_audience_entry(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two tenants
    run(stack, "init")
    leaving, staying = create(stack, capsys, "district-1"), create(stack, capsys, "district-2")

    # When one is deleted
    run(stack, "delete", leaving["client_id"], *authorizer_flags(stack))

    # Then only the other remains, in Cognito, the parameter and the live authorizer
    clients = boto3.client("cognito-idp", region_name=REGION).list_user_pool_clients(UserPoolId=stack["pool"])
    assert [c["ClientId"] for c in clients["UserPoolClients"]] == [staying["client_id"]]
    assert audience_parameter() == [staying["client_id"]]
    assert live_audience(stack) == [staying["client_id"]]


def test_deleting_the_last_tenant_restores_the_placeholder(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a single tenant
    run(stack, "init")
    tenant = create(stack, capsys)

    # When it is deleted
    run(stack, "delete", tenant["client_id"], *authorizer_flags(stack))

    # Then the audience is the placeholder, never empty
    assert audience_parameter() == [PLACEHOLDER_CLIENT_ID]
    assert live_audience(stack) == [PLACEHOLDER_CLIENT_ID]


def test_create_refuses_a_token_lifetime_cognito_would_reject(stack: dict[str, str]) -> None:
    # When an operator asks for a 2-minute token
    # Then the command stops with a usage error before touching Cognito
    with pytest.raises(SystemExit) as exit_info:
        run(stack, "create", "district-1", "--token-minutes", "2", *authorizer_flags(stack))
    assert exit_info.value.code == 2
    assert (
        boto3.client("cognito-idp", region_name=REGION).list_user_pool_clients(UserPoolId=stack["pool"])[
            "UserPoolClients"
        ]
        == []
    )


def tenants_table() -> str:
    from lambdas.common.config import Settings
    from local.resources import create_tables

    settings = Settings()
    create_tables(boto3.client("dynamodb", region_name=REGION), settings)
    return settings.tenants_table


def test_set_threshold_stores_the_tenants_default_and_clear_removes_it(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from decimal import Decimal

    from lambdas.tenants.settings import TenantSettings

    # Given a tenant and the stack's tenants table
    table = tenants_table()
    tenant = create(stack, capsys)["client_id"]
    settings = TenantSettings(table, resource=boto3.resource("dynamodb", region_name=REGION))
    # When its default threshold is set, then uploads without one use 25 %; cleared, none
    assert run(stack, "set-threshold", tenant, "--table", table, "--change-threshold", "25") == 0
    assert settings.change_threshold(tenant) == Decimal(25)
    assert run(stack, "set-threshold", tenant, "--table", table, "--clear") == 0
    assert settings.change_threshold(tenant) is None


@pytest.mark.parametrize("value", ["101", "-1", "ten"])
def test_set_threshold_refuses_what_the_upload_field_refuses(stack: dict[str, str], value: str) -> None:
    table = tenants_table()
    run(stack, "create", "district-1", *authorizer_flags(stack))
    client_id = boto3.client("cognito-idp", region_name=REGION).list_user_pool_clients(
        UserPoolId=stack["pool"], MaxResults=10
    )["UserPoolClients"][0]["ClientId"]
    assert run(stack, "set-threshold", client_id, "--table", table, "--change-threshold", value) == 1


def test_set_threshold_of_a_client_that_is_not_a_tenant_fails(stack: dict[str, str]) -> None:
    table = tenants_table()
    assert run(stack, "set-threshold", "not-a-client", "--table", table, "--change-threshold", "25") == 1
