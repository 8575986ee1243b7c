"""Builders shared by the roster tests: a moto roster table, a counting store, planning helpers.

Kept out of ``conftest.py`` so other suites' fixtures cannot collide with these.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import boto3

from lambdas.common.schema import ROSTER_TABLE
from lambdas.roster.apply import apply_rows
from lambdas.roster.contract import Issue, PlannedRow, RowOutcome
from lambdas.roster.passwords import PasswordHasher
from lambdas.roster.planner import Planner
from lambdas.roster.store import RosterStore
from local.resources import create_table

REGION = "eu-west-1"
TABLE = ROSTER_TABLE.local_name
FAST_HASHER = PasswordHasher(log2_n=4, workers=2)
STRONG = "Secret-Pass1"


def create_roster_table() -> Any:
    """The roster table as ``schema.ROSTER_TABLE`` defines it; call inside ``mock_aws``."""
    resource = boto3.resource("dynamodb", region_name=REGION)
    create_table(resource.meta.client, ROSTER_TABLE, TABLE)
    return resource


class CallCounter:
    """Counts DynamoDB requests by operation through a botocore event hook."""

    def __init__(self, resource: Any) -> None:
        self.calls: Counter[str] = Counter()
        resource.meta.client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1


def parse(text: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    return header, list(reader)


def plan(text: str, *, seed: str | None = None) -> tuple[Planner, list[PlannedRow | Issue]]:
    header, records = parse(text)
    planner = Planner.start(header, seed=seed)
    return planner, [planner.check(number, cells) for number, cells in enumerate(records, start=2)]


def planned(text: str, *, seed: str | None = None) -> tuple[str, list[PlannedRow]]:
    """The template and the rows of ``text`` that pass planning (asserting every row does)."""
    planner, results = plan(text, seed=seed)
    rows = [result for result in results if isinstance(result, PlannedRow)]
    assert len(rows) == len(results), [r for r in results if isinstance(r, Issue)]
    return planner.template, rows


def run(
    store: RosterStore, text: str, *, tenant: str = "tenant-a", dry_run: bool = False, seed: str | None = None
) -> list[RowOutcome]:
    template, rows = planned(text, seed=seed)
    return apply_rows(template, rows, tenant=tenant, store=store, dry_run=dry_run, hasher=FAST_HASHER)


def outcomes(results: Sequence[RowOutcome]) -> list[tuple[str, str | None]]:
    return [(r.outcome, r.issue.code if r.issue else None) for r in results]


def scan(resource: Any) -> list[dict[str, Any]]:
    table = resource.Table(TABLE)
    answer = table.scan()
    items = answer["Items"]
    while "LastEvaluatedKey" in answer:
        answer = table.scan(ExclusiveStartKey=answer["LastEvaluatedKey"])
        items += answer["Items"]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def chunks(rows: Sequence[PlannedRow], size: int) -> Iterator[Sequence[PlannedRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
