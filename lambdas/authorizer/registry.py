"""The tenant registry: a client of the user pool is a tenant only once the tenant command has
registered it (item ``<client id>``/``registration`` with ``status`` ACTIVE in the tenants table, written last when a
tenant is created and first when it is deleted). Answers are cached briefly in the warm
function: a deleted tenant is refused within ``ttl_seconds`` plus the authorizer cache TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3

from lambdas.common.schema import TENANT_ACTIVE, TENANT_REGISTRATION, TENANTS_TABLE

DEFAULT_TTL_SECONDS = 60


class TenantRegistry:
    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}

    def is_tenant(self, client_id: str) -> bool:
        now = self._clock()
        cached = self._cache.get(client_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        item = self._client.get_item(
            TableName=self._table,
            Key={
                TENANTS_TABLE.partition_key: {"S": client_id},
                TENANTS_TABLE.sort_key or "sk": {"S": TENANT_REGISTRATION},
            },
            ConsistentRead=True,
        ).get("Item")
        active = item is not None and item.get("status", {}).get("S") == TENANT_ACTIVE
        self._cache[client_id] = (active, now + self._ttl)
        return active
