"""Roster table access: one DynamoDB single table for every tenant.

Item keys (``schema.ROSTER_TABLE``): ``pk = "<tenant>#<ENTITY>"``, ``sk = <entity key>``:

| entity | sk |
|---|---|
| ``USER`` | ``user_username`` |
| ``GROUP`` | ``group_name`` |
| ``ORG`` | ``hierarchy_organizationId`` |
| ``MEMBERSHIP`` | ``"<user_username>#<group_name>"`` |
| ``SESSION`` | ``session_name`` |

The tenant is part of every key, so no read can cross tenants. Reads are BatchGetItem (≤ 100
keys, strongly consistent) and writes BatchWriteItem (≤ 25 puts); unprocessed keys/items are
retried with exponential backoff and jitter. Writes are whole-item puts: applying the same item
twice leaves the same state.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

import boto3

from lambdas.common.schema import ROSTER_TABLE

PK, SK = ROSTER_TABLE.partition_key, ROSTER_TABLE.sort_key or "sk"
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25

Item = dict[str, Any]


class Entity(StrEnum):
    USER = "USER"
    GROUP = "GROUP"
    ORG = "ORG"
    MEMBERSHIP = "MEMBERSHIP"
    SESSION = "SESSION"


Ref = tuple[Entity, str]
"""An entity of the caller's tenant: (entity, sort key)."""


class RosterStoreError(Exception):
    """DynamoDB kept items unprocessed after every retry; the caller retries the whole chunk."""


class RosterStore:
    def __init__(
        self,
        table_name: str,
        *,
        resource: Any = None,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._resource = resource or boto3.resource("dynamodb")
        self._table_name = table_name
        self._table = self._resource.Table(table_name)
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._sleep = sleep

    @staticmethod
    def key(tenant: str, entity: Entity, sort_key: str) -> dict[str, str]:
        return {PK: f"{tenant}#{entity}", SK: sort_key}

    def get_many(self, tenant: str, refs: Iterable[Ref]) -> dict[Ref, Item]:
        """The stored items among ``refs`` (missing ones are absent from the answer).
        ``ceil(len(set(refs)) / 100)`` BatchGetItem calls when nothing is throttled."""
        unique = list(dict.fromkeys(refs))
        by_key: dict[tuple[str, str], Ref] = {}
        keys = []
        for entity, sort_key in unique:
            key = self.key(tenant, entity, sort_key)
            by_key[(key[PK], key[SK])] = (entity, sort_key)
            keys.append(key)
        found: dict[Ref, Item] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self._table_name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            attempt = 0
            while pending:
                answer = self._resource.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table_name, []):
                    found[by_key[(item[PK], item[SK])]] = item
                pending = answer.get("UnprocessedKeys") or {}
                if pending:
                    attempt = self._backoff(attempt)
        return found

    def put_many(self, items: Iterable[Item]) -> int:
        """Put whole items (each with ``pk``/``sk``; later duplicates of a key win). Returns the count.
        ``ceil(n / 25)`` BatchWriteItem calls when nothing is throttled."""
        unique = list({(item[PK], item[SK]): item for item in items}.values())
        for start in range(0, len(unique), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {
                self._table_name: [{"PutRequest": {"Item": item}} for item in unique[start : start + BATCH_WRITE_LIMIT]]
            }
            attempt = 0
            while pending:
                answer = self._resource.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if pending:
                    attempt = self._backoff(attempt)
        return len(unique)

    def has_any(self, tenant: str, entity: Entity) -> bool:
        """One Query with ``Limit=1``: whether the tenant has at least one item of ``entity``."""
        answer = self._table.query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues={":pk": f"{tenant}#{entity}"},
            Limit=1,
            ProjectionExpression="#pk",
            ConsistentRead=True,
        )
        return bool(answer.get("Items"))

    def count(self, tenant: str, entity: str) -> int:
        """How many items of ``entity`` the tenant has (paginated ``Select=COUNT`` Query)."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": {":pk": f"{tenant}#{entity}"},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        total = 0
        while True:
            answer = self._table.query(**request)
            total += int(answer.get("Count", 0))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return total
            request["ExclusiveStartKey"] = last

    def query_all(self, tenant: str, entity: Entity) -> list[Item]:
        """Every item of ``entity`` of the tenant (paginated Query). Used for the organization tree."""
        items: list[Item] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": {":pk": f"{tenant}#{entity}"},
            "ConsistentRead": True,
        }
        while True:
            answer = self._table.query(**request)
            items.extend(answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return items
            request["ExclusiveStartKey"] = last

    def _backoff(self, attempt: int) -> int:
        attempt += 1
        if attempt >= self._max_attempts:
            raise RosterStoreError(f"items still unprocessed after {attempt} attempts")
        self._sleep(random.uniform(0, self._base_delay * (2**attempt)))  # noqa: S311 (jitter, not security)
        return attempt
