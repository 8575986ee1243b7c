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
keys, strongly consistent; unprocessed keys retried with exponential backoff and jitter).

Writes are optimistic: every item carries ``version`` (1 when created, +1 per write) and every
put is conditional on the version it was computed from (``attribute_not_exists(pk)`` for a
create; items stored before versions existed count as version 0). A row's writes, and its
``Guard`` conditions on other items (an organization's ancestors), go into one
TransactWriteItems of ≤ 100 operations with other rows; a refused condition is reported back per
row, so the caller re-reads and re-applies that row. A write never overwrites a change it did not
see. BatchWriteItem cannot carry conditions, so it is not used.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lambdas.common.schema import ROSTER_TABLE

PK, SK = ROSTER_TABLE.partition_key, ROSTER_TABLE.sort_key or "sk"
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100
VERSION = "version"

# What one record can hold (SPEC section 6; DynamoDB: 1,024-byte sort keys, 400 KB items). A row
# whose values exceed them fails alone with VALUE_TOO_LONG.
MAX_KEY_CHARS = 255
MAX_VALUE_CHARS = 4096
MAX_ITEM_BYTES = 400 * 1024
# Conditions a transaction may report that mean "try the same operations again".
_TRANSIENT = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}

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


@dataclass(frozen=True, slots=True)
class Write:
    """Put ``item`` (whose ``version`` is ``expected + 1``) if the stored item is still at
    ``expected``: None = must not exist, 0 = stored before versions existed."""

    item: Item
    expected: int | None


@dataclass(frozen=True, slots=True)
class Guard:
    """Commit only if the stored item ``key`` still has ``attribute`` = ``value`` (None: absent)."""

    key: dict[str, str]
    attribute: str
    value: Any


RowWrites = Sequence[Write | Guard]


def item_size(item: Item) -> int:
    """An upper estimate of the item's DynamoDB size: names plus UTF-8 values (numbers ≤ 21)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, (list, tuple, set)):
            size += 3 + sum(len(str(v).encode()) + 1 for v in value)
        else:
            size += 21
    return size


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

    def write_rows(self, rows: Sequence[RowWrites]) -> set[int]:
        """Commit each row's writes and guards atomically, rows in order, ≤ 100 operations per
        TransactWriteItems (a key appears once per transaction). Returns the indices of the rows
        refused because a stored item is no longer what they were computed from; every other row
        is written. Transient cancellations are retried with backoff."""
        refused: set[int] = set()
        pending = [index for index, ops in enumerate(rows) if ops]
        attempt = 0
        while pending:
            again: list[int] = []
            for batch in _transactions(rows, pending):
                failed, retry = self._transact(rows, batch)
                refused |= failed
                again += retry
            if again:
                attempt = self._backoff(attempt)
            pending = sorted(again)
        return refused

    def _transact(self, rows: Sequence[RowWrites], batch: list[int]) -> tuple[set[int], list[int]]:
        """One transaction of the rows in ``batch``: (rows refused, rows to send again)."""
        owners: list[int] = []
        operations: list[dict[str, Any]] = []
        for index in batch:
            for op in rows[index]:
                owners.append(index)
                operations.append(self._operation(op))
        try:
            self._resource.meta.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
            if not reasons or set(reasons) - _TRANSIENT - {"None", "ConditionalCheckFailed"}:
                raise
            refused = {owners[n] for n, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
            return refused, [index for index in batch if index not in refused]
        return set(), []

    def _operation(self, op: Write | Guard) -> dict[str, Any]:
        if isinstance(op, Guard):
            check: dict[str, Any] = {"TableName": self._table_name, "Key": op.key}
            if op.value is None:
                check |= {
                    "ConditionExpression": "attribute_exists(#pk) AND attribute_not_exists(#a)",
                    "ExpressionAttributeNames": {"#pk": PK, "#a": op.attribute},
                }
            else:
                check |= {
                    "ConditionExpression": "#a = :value",
                    "ExpressionAttributeNames": {"#a": op.attribute},
                    "ExpressionAttributeValues": {":value": op.value},
                }
            return {"ConditionCheck": check}
        put: dict[str, Any] = {"TableName": self._table_name, "Item": op.item}
        if op.expected is None:
            put |= {"ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": PK}}
        elif op.expected == 0:
            put |= {
                "ConditionExpression": "attribute_exists(#pk) AND attribute_not_exists(#v)",
                "ExpressionAttributeNames": {"#pk": PK, "#v": VERSION},
            }
        else:
            put |= {
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#v": VERSION},
                "ExpressionAttributeValues": {":read": op.expected},
            }
        return {"Put": put}

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


def _key_of(op: Write | Guard) -> tuple[str, str]:
    key = op.key if isinstance(op, Guard) else op.item
    return (str(key[PK]), str(key[SK]))


def _transactions(rows: Sequence[RowWrites], pending: list[int]) -> Iterator[list[int]]:
    """Cut ``pending`` rows, in order, into transactions of ≤ 100 operations in which no key repeats."""
    batch: list[int] = []
    keys: set[tuple[str, str]] = set()
    for index in pending:
        row_keys = [_key_of(op) for op in rows[index]]
        if batch and (len(keys) + len(row_keys) > TRANSACTION_LIMIT or not keys.isdisjoint(row_keys)):
            yield batch
            batch, keys = [], set()
        batch.append(index)
        keys.update(row_keys)
    if batch:
        yield batch
