"""Tenant app clients in the Cognito user pool: ``python -m ops.tenants COMMAND`` (init, create, list,
rotate-secret, delete, set-threshold).

One app client per tenant (client_credentials, with a secret). The deployed HTTP API JWT authorizer
accepts a token whose ``client_id`` is in its audience; that audience is the SSM StringList
``--parameter``, read by the CDK stack at deploy time. Each change here rewrites the parameter from
the pool's clients AND updates the live authorizer (``--api-id``/``--authorizer-id``), so onboarding
needs no redeploy and a later ``cdk deploy`` keeps every tenant. See docs/AUTH.md.

The client secret is printed once, on ``create`` and ``rotate-secret``; nothing else shows it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from lambdas.common.errors import ApiError
from lambdas.common.identity import SCOPE_IMPORT, SCOPE_READ
from lambdas.common.schema import TENANT_CLIENT_IDS_PARAMETER
from lambdas.jobs.hold import parse_threshold
from lambdas.tenants.settings import TenantSettings

DEFAULT_PARAMETER = TENANT_CLIENT_IDS_PARAMETER
# The authorizer's audience cannot be empty: before the first tenant it holds this id, which no client has.
PLACEHOLDER_CLIENT_ID = "no-tenant-yet"
DEFAULT_SCOPES = (SCOPE_IMPORT, SCOPE_READ)
DEFAULT_TOKEN_MINUTES = 60
# Cognito keeps at most two secrets per app client.
MAX_CLIENT_SECRETS = 2


@dataclass(frozen=True, slots=True)
class Tenant:
    client_id: str
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    client_secret: str


class TenantAdmin:
    def __init__(self, *, cognito: Any, ssm: Any, apigateway: Any, user_pool_id: str, parameter: str) -> None:
        self._cognito = cognito
        self._ssm = ssm
        self._apigateway = apigateway
        self._pool = user_pool_id
        self._parameter = parameter

    def init(self) -> bool:
        """Create the audience parameter with the placeholder unless it exists; True if created."""
        try:
            self._ssm.put_parameter(Name=self._parameter, Type="StringList", Value=PLACEHOLDER_CLIENT_ID)
        except self._ssm.exceptions.ParameterAlreadyExists:
            return False
        return True

    def create(self, name: str, *, scopes: Sequence[str], token_minutes: int) -> Credentials:
        client = self._cognito.create_user_pool_client(
            UserPoolId=self._pool,
            ClientName=name,
            GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=list(scopes),
            AccessTokenValidity=token_minutes,
            TokenValidityUnits={"AccessToken": "minutes"},
            EnableTokenRevocation=True,
        )["UserPoolClient"]
        return Credentials(client["ClientId"], client["ClientSecret"])

    def list_tenants(self) -> list[Tenant]:
        tenants = []
        for client_id in self._client_ids():
            client = self._cognito.describe_user_pool_client(UserPoolId=self._pool, ClientId=client_id)
            details = client["UserPoolClient"]
            tenants.append(
                Tenant(client_id, details.get("ClientName", ""), tuple(details.get("AllowedOAuthScopes", ())))
            )
        return tenants

    def rotate_secret(self, client_id: str, *, retire_previous: bool) -> Credentials:
        """Add a secret without changing the client id (the tenant). The previous secret keeps working
        until the next rotation, or stops at once with ``retire_previous`` (a leaked secret)."""
        ids = {"UserPoolId": self._pool, "ClientId": client_id}
        existing = sorted(
            self._cognito.list_user_pool_client_secrets(**ids)["ClientSecrets"],
            key=lambda secret: secret["ClientSecretCreateDate"],
        )
        if len(existing) >= MAX_CLIENT_SECRETS:
            self._cognito.delete_user_pool_client_secret(**ids, ClientSecretId=existing[0]["ClientSecretId"])
            existing = existing[1:]
        added = self._cognito.add_user_pool_client_secret(**ids)["ClientSecretDescriptor"]
        if retire_previous:
            for secret in existing:
                self._cognito.delete_user_pool_client_secret(**ids, ClientSecretId=secret["ClientSecretId"])
        return Credentials(client_id, added["ClientSecretValue"])

    def exists(self, client_id: str) -> bool:
        return client_id in self._client_ids()

    def delete(self, client_id: str) -> None:
        self._cognito.delete_user_pool_client(UserPoolId=self._pool, ClientId=client_id)

    def publish_audience(self, *, api_id: str, authorizer_id: str) -> list[str]:
        """Write the pool's client ids to the parameter and to the live JWT authorizer."""
        audience = self._client_ids() or [PLACEHOLDER_CLIENT_ID]
        self._ssm.put_parameter(Name=self._parameter, Type="StringList", Value=",".join(audience), Overwrite=True)
        current = self._apigateway.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
        self._apigateway.update_authorizer(
            ApiId=api_id,
            AuthorizerId=authorizer_id,
            JwtConfiguration={"Issuer": current["JwtConfiguration"]["Issuer"], "Audience": audience},
        )
        return audience

    def _client_ids(self) -> list[str]:
        paginator = self._cognito.get_paginator("list_user_pool_clients")
        pages = paginator.paginate(UserPoolId=self._pool, PaginationConfig={"PageSize": 60})
        return sorted(client["ClientId"] for page in pages for client in page["UserPoolClients"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.tenants", description=__doc__.splitlines()[0])
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--parameter", default=DEFAULT_PARAMETER, help="SSM StringList of allowed client ids")
    parser.add_argument("--region", help="AWS region (default: the AWS profile's)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create the audience parameter with a placeholder if it is missing")
    commands.add_parser("list", help="list tenant clients")

    create = commands.add_parser("create", help="create a tenant client and print its id and secret once")
    create.add_argument("name", help="tenant name, e.g. the district")
    create.add_argument(
        "--scope", dest="scopes", action="append", help=f"repeatable (default: {' '.join(DEFAULT_SCOPES)})"
    )
    create.add_argument(
        "--token-minutes", type=int, default=DEFAULT_TOKEN_MINUTES, help="access token validity (5-1440)"
    )
    _add_authorizer_flags(create)

    rotate = commands.add_parser("rotate-secret", help="add a new secret to a tenant client and print it once")
    rotate.add_argument("client_id")
    rotate.add_argument("--retire-previous", action="store_true", help="revoke the other secrets now")

    delete = commands.add_parser("delete", help="delete a tenant client and drop it from the audience")
    delete.add_argument("client_id")
    _add_authorizer_flags(delete)

    threshold = commands.add_parser(
        "set-threshold", help="the tenant's default change threshold (uploads without changeThreshold)"
    )
    threshold.add_argument("client_id")
    threshold.add_argument("--table", required=True, help="tenants table (stack output TenantsTableName)")
    value = threshold.add_mutually_exclusive_group(required=True)
    value.add_argument(
        "--change-threshold", metavar="N", help="hold imports that would update more than N%% of its records"
    )
    value.add_argument("--clear", action="store_true", help="remove the default (no hold unless an upload asks)")
    return parser


def _add_authorizer_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-id", required=True, help="HTTP API id (stack output)")
    parser.add_argument("--authorizer-id", required=True, help="JWT authorizer id (stack output)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    admin = TenantAdmin(
        cognito=session.client("cognito-idp"),
        ssm=session.client("ssm"),
        apigateway=session.client("apigatewayv2"),
        user_pool_id=args.user_pool_id,
        parameter=args.parameter,
    )
    if args.command == "init":
        created = admin.init()
        print(f"{args.parameter}: {'created with a placeholder' if created else 'already exists'}")
    elif args.command == "list":
        for tenant in admin.list_tenants():
            print(f"{tenant.client_id}\t{tenant.name}\t{' '.join(tenant.scopes)}")
    elif args.command == "create":
        if not 5 <= args.token_minutes <= 1440:
            build_parser().error("--token-minutes must be between 5 and 1440")
        credentials = admin.create(args.name, scopes=args.scopes or DEFAULT_SCOPES, token_minutes=args.token_minutes)
        audience = admin.publish_audience(api_id=args.api_id, authorizer_id=args.authorizer_id)
        _print_credentials(credentials)
        print(f"audience: {len(audience)} client(s)", file=sys.stderr)
    elif args.command == "rotate-secret":
        _print_credentials(admin.rotate_secret(args.client_id, retire_previous=args.retire_previous))
    elif args.command == "delete":
        admin.delete(args.client_id)
        audience = admin.publish_audience(api_id=args.api_id, authorizer_id=args.authorizer_id)
        print(f"deleted {args.client_id}; audience: {len(audience)} client(s)")
    elif args.command == "set-threshold":
        return _set_threshold(args, admin, session.resource("dynamodb"))
    return 0


def _set_threshold(args: argparse.Namespace, admin: TenantAdmin, dynamodb: Any) -> int:
    """Only a client of the pool is a tenant; the value follows the upload field's rule."""
    if not admin.exists(args.client_id):
        print(f"no tenant client {args.client_id} in the user pool", file=sys.stderr)
        return 1
    try:
        value = None if args.clear else parse_threshold(args.change_threshold)
    except ApiError as refused:
        print(refused.message, file=sys.stderr)
        return 1
    TenantSettings(args.table, resource=dynamodb).set_change_threshold(args.client_id, value)
    print(f"{args.client_id}: change threshold {'none' if value is None else f'{value}%'}")
    return 0


def _print_credentials(credentials: Credentials) -> None:
    print(f"client_id: {credentials.client_id}")
    print(f"client_secret: {credentials.client_secret}")
    print("Store the secret now: it is not shown again.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
