"""Tenants: ``python -m ops.tenants {create,list,rotate-secret,delete}``.

A tenant is a Cognito app client (client_credentials, with a secret) that this command made AND
registered in the tenants table; the API's authorizer accepts a token only when its ``client_id``
is registered ACTIVE (docs/AUTH.md). Nothing is deployed or reconfigured per tenant, so onboarding
has no upper bound from the API (the JWT authorizer's 50-audience quota no longer applies).

Every step can be re-run, and a crash between two steps never leaves a half-made tenant:

``create NAME``  1. claim the name (item ``name#NAME``/``name``, state CREATING)
                 2. create the app client (or adopt the one a crashed run created under NAME)
                 3. link the client id to the name
                 4. register (item ``<client id>``/``registration``, status ACTIVE): now it is a tenant
Until step 4 the client is not a tenant, whatever else exists. Running ``create NAME`` again
finishes the work and prints the same id and secret (the secret is shown on each successful run).

``delete ID``    1. mark the registration DELETED (the authorizer refuses it from here on)
                 2. delete the app client   3. release the name
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from lambdas.common.errors import ApiError
from lambdas.common.identity import SCOPE_IMPORT, SCOPE_READ
from lambdas.common.schema import TENANT_ACTIVE, TENANT_NAME_CLAIM, TENANT_REGISTRATION, TENANTS_TABLE
from lambdas.jobs.hold import parse_threshold
from lambdas.tenants.settings import TenantSettings

DEFAULT_SCOPES = (SCOPE_IMPORT, SCOPE_READ)
DEFAULT_TOKEN_MINUTES = 60
MAX_CLIENT_SECRETS = 2  # Cognito keeps at most two secrets per app client
PK, SK = TENANTS_TABLE.partition_key, TENANTS_TABLE.sort_key or "sk"
NAME_PREFIX = "name#"  # name claims share the table; Cognito client ids never contain '#'
CREATING = "CREATING"
DELETED = "DELETED"


class TenantError(Exception):
    """A state the command will not repair by itself; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Tenant:
    client_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    client_secret: str


class TenantAdmin:
    def __init__(self, *, cognito: Any, dynamodb: Any, user_pool_id: str, table: str) -> None:
        self._cognito = cognito
        self._dynamodb = dynamodb
        self._pool = user_pool_id
        self._table = table

    # -- create ----------------------------------------------------------------------------
    def create(self, name: str, *, scopes: Sequence[str], token_minutes: int) -> Credentials:
        claim, resumed = self._claim_name(name)
        client_id = claim.get("linkedClientId", {}).get("S") or (self._orphan_client(name) if resumed else None)
        if client_id is None:
            client_id = self._create_client(name, scopes=scopes, token_minutes=token_minutes)
        self._link(name, client_id)
        self._register(client_id, name)
        return Credentials(client_id, self._secret(client_id))

    def _claim_name(self, name: str) -> tuple[dict[str, Any], bool]:
        """Step 1: the name's claim item, and whether an earlier run had made it (a resume)."""
        key = name_key(name)
        existing = self._get(key)
        if existing is not None:
            return existing, True
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={**key, "state": {"S": CREATING}, "createdAt": {"S": _now()}},
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": PK},
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return self._get(key) or {}, True  # another run claimed it a moment ago
        return {}, False

    def _orphan_client(self, name: str) -> str | None:
        """A client a crashed run created under ``name`` before linking it (step 2 without 3)."""
        found = [client["ClientId"] for client in self._pool_clients() if client.get("ClientName") == name]
        if len(found) > 1:
            raise TenantError(f"{len(found)} app clients are named {name!r}; delete the extra ones, then re-run")
        return found[0] if found else None

    def _create_client(self, name: str, *, scopes: Sequence[str], token_minutes: int) -> str:
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
            PreventUserExistenceErrors="ENABLED",
            SupportedIdentityProviders=["COGNITO"],
        )["UserPoolClient"]
        return str(client["ClientId"])

    def _link(self, name: str, client_id: str) -> None:
        self._dynamodb.update_item(
            TableName=self._table,
            Key=name_key(name),
            UpdateExpression="SET linkedClientId = :id",
            ConditionExpression="attribute_not_exists(linkedClientId) OR linkedClientId = :id",
            ExpressionAttributeValues={":id": {"S": client_id}},
        )

    def _register(self, client_id: str, name: str) -> None:
        """Step 4, the commit point: the authorizer accepts the client from here on."""
        register(self._dynamodb, self._table, client_id, name)

    def _secret(self, client_id: str) -> str:
        client = self._cognito.describe_user_pool_client(UserPoolId=self._pool, ClientId=client_id)
        return str(client["UserPoolClient"]["ClientSecret"])

    # -- read ------------------------------------------------------------------------------
    def list_tenants(self) -> list[Tenant]:
        tenants = [
            Tenant(item[PK]["S"], item.get("name", {}).get("S", ""))
            for item in self._items()
            if item[SK]["S"] == TENANT_REGISTRATION and item.get("status", {}).get("S") == TENANT_ACTIVE
        ]
        return sorted(tenants, key=lambda tenant: (tenant.name, tenant.client_id))

    def is_tenant(self, client_id: str) -> bool:
        item = self._get(registration_key(client_id))
        return item is not None and item.get("status", {}).get("S") == TENANT_ACTIVE

    # -- rotate, delete --------------------------------------------------------------------
    def rotate_secret(self, client_id: str, *, retire_previous: bool) -> Credentials:
        """Add a secret without changing the client id (the tenant). The previous secret keeps working
        until the next rotation, or stops at once with ``retire_previous`` (a leaked secret)."""
        if not self.is_tenant(client_id):
            raise TenantError(f"{client_id} is not a registered tenant")
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

    def delete(self, client_id: str) -> None:
        item = self._get(registration_key(client_id))
        name = (item or {}).get("name", {}).get("S")
        if item is not None:  # step 1: no longer a tenant
            self._dynamodb.update_item(
                TableName=self._table,
                Key=registration_key(client_id),
                UpdateExpression="SET #s = :deleted, deletedAt = :now",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":deleted": {"S": DELETED}, ":now": {"S": _now()}},
            )
        with contextlib.suppress(self._cognito.exceptions.ResourceNotFoundException):  # step 2
            self._cognito.delete_user_pool_client(UserPoolId=self._pool, ClientId=client_id)
        if name:  # step 3
            self._dynamodb.delete_item(TableName=self._table, Key=name_key(name))

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    def _items(self) -> Iterator[dict[str, Any]]:
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            yield from page["Items"]

    def _pool_clients(self) -> Iterator[dict[str, Any]]:
        paginator = self._cognito.get_paginator("list_user_pool_clients")
        for page in paginator.paginate(UserPoolId=self._pool, PaginationConfig={"PageSize": 60}):
            yield from page["UserPoolClients"]


def registration_key(client_id: str) -> dict[str, Any]:
    return {PK: {"S": client_id}, SK: {"S": TENANT_REGISTRATION}}


def name_key(name: str) -> dict[str, Any]:
    return {PK: {"S": NAME_PREFIX + name}, SK: {"S": TENANT_NAME_CLAIM}}


def register(dynamodb: Any, table: str, client_id: str, name: str) -> None:
    """Mark ``client_id`` a tenant (idempotent; a DELETED tenant is never revived)."""
    dynamodb.put_item(
        TableName=table,
        Item={
            **registration_key(client_id),
            "status": {"S": TENANT_ACTIVE},
            "name": {"S": name},
            "registeredAt": {"S": _now()},
        },
        ConditionExpression="attribute_not_exists(#k) OR #s = :active",
        ExpressionAttributeNames={"#k": PK, "#s": "status"},
        ExpressionAttributeValues={":active": {"S": TENANT_ACTIVE}},
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.tenants", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--user-pool-id", required=True, help="stack output UserPoolId")
    parser.add_argument("--table", required=True, help="stack output TenantsTableName")
    parser.add_argument("--region", help="AWS region (default: the AWS profile's)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list tenants (id and name; never a secret)")

    create = commands.add_parser("create", help="create (or finish creating) a tenant and print its id and secret")
    create.add_argument("name", help="tenant name, unique, e.g. the district")
    create.add_argument(
        "--scope", dest="scopes", action="append", help=f"repeatable (default: {' '.join(DEFAULT_SCOPES)})"
    )
    create.add_argument(
        "--token-minutes", type=int, default=DEFAULT_TOKEN_MINUTES, help="access token validity (5-1440)"
    )

    rotate = commands.add_parser("rotate-secret", help="add a new secret to a tenant client and print it once")
    rotate.add_argument("client_id")
    rotate.add_argument("--retire-previous", action="store_true", help="revoke the other secrets now")

    delete = commands.add_parser("delete", help="unregister a tenant and delete its app client")
    delete.add_argument("client_id")

    threshold = commands.add_parser(
        "set-threshold", help="the tenant's default change threshold (uploads without changeThreshold)"
    )
    threshold.add_argument("client_id")
    value = threshold.add_mutually_exclusive_group(required=True)
    value.add_argument(
        "--change-threshold", metavar="N", help="hold imports that would update more than N%% of its records"
    )
    value.add_argument("--clear", action="store_true", help="remove the default (no hold unless an upload asks)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    admin = TenantAdmin(
        cognito=session.client("cognito-idp"),
        dynamodb=session.client("dynamodb"),
        user_pool_id=args.user_pool_id,
        table=args.table,
    )
    try:
        return _run(admin, args)
    except TenantError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(admin: TenantAdmin, args: argparse.Namespace) -> int:
    if args.command == "set-threshold":
        return _set_threshold(args, admin)
    if args.command == "list":
        for tenant in admin.list_tenants():
            print(f"{tenant.client_id}\t{tenant.name}")
    elif args.command == "create":
        if not 5 <= args.token_minutes <= 1440:
            build_parser().error("--token-minutes must be between 5 and 1440")
        _print_credentials(
            admin.create(args.name, scopes=args.scopes or DEFAULT_SCOPES, token_minutes=args.token_minutes)
        )
    elif args.command == "rotate-secret":
        _print_credentials(admin.rotate_secret(args.client_id, retire_previous=args.retire_previous))
    elif args.command == "delete":
        admin.delete(args.client_id)
        print(f"deleted {args.client_id}")
    return 0


def _set_threshold(args: argparse.Namespace, admin: TenantAdmin) -> int:
    """Only a registered tenant has settings; the value follows the upload field's rule."""
    if not admin.is_tenant(args.client_id):
        print(f"{args.client_id} is not a registered tenant", file=sys.stderr)
        return 1
    try:
        value = None if args.clear else parse_threshold(args.change_threshold)
    except ApiError as refused:
        print(refused.message, file=sys.stderr)
        return 1
    dynamodb = boto3.session.Session(region_name=args.region).resource("dynamodb")
    TenantSettings(args.table, resource=dynamodb).set_change_threshold(args.client_id, value)
    print(f"{args.client_id}: change threshold {'none' if value is None else f'{value}%'}")
    return 0


def _print_credentials(credentials: Credentials) -> None:
    print(f"client_id: {credentials.client_id}")
    print(f"client_secret: {credentials.client_secret}")
    print("Store the secret now.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
