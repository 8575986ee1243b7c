"""moto's DynamoDB made as isolated as DynamoDB for TransactWriteItems.

moto (5.x) backs up every table a transaction touches with ``copy.deepcopy`` and, when the
transaction is cancelled, puts the backups back. Two consequences, both unlike DynamoDB:

- a write another thread made while the transaction ran is silently undone when it is cancelled
  (the local stack runs the upload and importer handlers in threads against one moto: a job
  created by the upload route vanished when a concurrent line transaction lost its condition);
- every transaction costs a copy of the whole table (quadratic time for a big import).

``install()`` serialises moto's item writes (put, update, delete, transact) behind one lock, so a
transaction is isolated from other writes as DynamoDB's are, and replaces the table backup by an
undo of just the items the transaction names. It also remembers parsed condition expressions
(moto parses the same ``version = :read`` three times per conditional put, which made a
conditional import several times slower than an unconditional one in moto). Idempotent; used by
the local stack and the tests.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import types
from collections.abc import Callable
from typing import Any

from moto.dynamodb import comparisons, models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item")
_INSTALLED = "_rostering_isolated"
_PARSED_LIMIT = 4096


def _no_table_copies() -> types.SimpleNamespace:
    """A stand-in for the ``copy`` module of moto's backend: tables are not copied (the undo below
    replaces the backup), anything else is copied as before."""

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    return types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)


def _snapshot(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[Table, Any, Any, Any]]:
    """(table, hash key, range key, the stored item or None) of every item the transaction names."""
    saved = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Key") or op.get("Item")
        if table is None or not key or table.hash_key_attr not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    return saved


def _undo(saved: list[tuple[Table, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if item is None:
            table.delete_item(hash_key, range_key)
        elif range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item


def _isolated_transaction(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        with _LOCK:
            saved = _snapshot(self, transact_items)
            real_copy = models.copy
            models.copy = _no_table_copies()  # type: ignore[assignment]
            try:
                return original(self, transact_items)
            except BaseException:
                _undo(saved)
                raise
            finally:
                models.copy = real_copy

    return transact_write_items


def _serialised(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(*args, **kwargs)

    return write


def _remembered(parse: Callable[..., Any]) -> Callable[..., Any]:
    """``get_filter_expression`` with its answers kept: the parsed expression tree only reads the
    item it is applied to, so one tree serves every call with the same expression and values."""
    parsed: dict[tuple[str | None, str, str], Any] = {}

    @functools.wraps(parse)
    def get_filter_expression(expr: str | None, names: Any, values: Any) -> Any:
        key = (expr, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True, default=str))
        found = parsed.get(key)
        if found is None:
            if len(parsed) >= _PARSED_LIMIT:
                parsed.clear()
            found = parsed[key] = parse(expr, names, values)
        return found

    return get_filter_expression


def install() -> None:
    if getattr(DynamoDBBackend, _INSTALLED, False):
        return
    remembered = _remembered(comparisons.get_filter_expression)
    models.get_filter_expression = remembered
    table_module.get_filter_expression = remembered
    for name in _WRITES:
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = _isolated_transaction(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    setattr(DynamoDBBackend, _INSTALLED, True)
