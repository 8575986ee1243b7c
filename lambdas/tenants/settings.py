"""A tenant's defaults (tenants table, ``sk = "settings"``): today the change threshold that
applies to an upload that carries none. Set by ``python -m ops.tenants set-threshold``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3

from lambdas.common.schema import TENANTS_TABLE

PK, SK = TENANTS_TABLE.partition_key, TENANTS_TABLE.sort_key or "sk"
SETTINGS_SK = "settings"


class TenantSettings:
    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def change_threshold(self, tenant: str) -> Decimal | None:
        item = self._table.get_item(Key={PK: tenant, SK: SETTINGS_SK}, ConsistentRead=True).get("Item") or {}
        value = item.get("changeThreshold")
        return Decimal(value) if value is not None else None

    def set_change_threshold(self, tenant: str, value: Decimal | None) -> None:
        """Set the tenant's default (a percentage 0 to 100), or remove it with None."""
        if value is None:
            self._table.update_item(Key={PK: tenant, SK: SETTINGS_SK}, UpdateExpression="REMOVE changeThreshold")
        else:
            self._table.update_item(
                Key={PK: tenant, SK: SETTINGS_SK},
                UpdateExpression="SET changeThreshold = :value",
                ExpressionAttributeValues={":value": value},
            )
