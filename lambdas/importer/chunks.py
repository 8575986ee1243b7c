"""A chunk is a run of consecutive data rows: each is a ``PlannedRow`` to apply or the ``Issue``
that planning found. Applying a chunk gives one result record per row, in row order:
``{"row", "key", "outcome", "issue", "warnings"}``, where ``issue`` is the row's first error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lambdas.jobs.model import SUMMARY_FIELDS
from lambdas.roster.contract import Issue, PlannedRow, RowOutcome

ChunkItem = PlannedRow | Issue


class PlannerLike(Protocol):
    """``lambdas.roster.planner.Planner`` as the pipeline uses it."""

    @property
    def template(self) -> str: ...

    warnings: list[Issue]

    def check(self, row_number: int, cells: Sequence[str]) -> PlannedRow | Issue: ...

    def check_rows(self, rows: Sequence[int], cells: Sequence[Sequence[str]]) -> list[PlannedRow | Issue]: ...


class StartPlanner(Protocol):
    def __call__(self, header: Sequence[str], *, seed: str | None = None) -> PlannerLike: ...


class ApplyRows(Protocol):
    """``lambdas.roster.apply.apply_rows``: idempotent; with ``import_id`` a re-applied row
    reports the outcome of this import's first application."""

    def __call__(
        self,
        template: str,
        rows: Sequence[PlannedRow],
        *,
        tenant: str,
        store: Any,
        dry_run: bool,
        hasher: Any,
        import_id: str | None = None,
    ) -> list[RowOutcome]: ...


@dataclass(frozen=True, slots=True)
class RosterServices:
    """The roster side of an import: planning, applying, and what applying needs."""

    start_planner: StartPlanner
    apply: ApplyRows
    store: Any
    hasher: Any


def item_to_json(item: ChunkItem) -> dict[str, Any]:
    if isinstance(item, Issue):
        return {"issue": item.to_dict()}
    return {"planned": item.to_json()}


def item_from_json(data: Mapping[str, Any]) -> ChunkItem:
    if "issue" in data:
        return Issue(**data["issue"])
    return PlannedRow.from_json(data["planned"])


def apply_chunk(
    items: Sequence[ChunkItem], rules: RosterServices, *, template: str, tenant: str, reference_id: str, dry_run: bool
) -> list[dict[str, Any]]:
    """Apply the planned rows of a chunk (idempotent) and merge their outcomes with the rows that
    planning rejected, in row order."""
    planned = [item for item in items if isinstance(item, PlannedRow)]
    applied = (
        rules.apply(
            template,
            planned,
            tenant=tenant,
            store=rules.store,
            dry_run=dry_run,
            hasher=rules.hasher,
            import_id=reference_id,
        )
        if planned
        else []
    )
    outcomes = iter(applied)
    records = []
    for item in items:
        if isinstance(item, Issue):
            records.append(_record(item.row, "", "failed", item, ()))
            continue
        outcome = next(outcomes)
        warnings = item.warnings + tuple(w for w in outcome.warnings if w not in item.warnings)
        records.append(_record(item.row, item.key, outcome.outcome, outcome.issue, warnings))
    return records


def _record(row: int, key: str, outcome: str, issue: Issue | None, warnings: Iterable[Issue]) -> dict[str, Any]:
    return {
        "row": row,
        "key": key,
        "outcome": outcome,
        "issue": issue.to_dict() if issue is not None else None,
        "warnings": [w.to_dict() for w in warnings],
    }


def tally(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The summary counters of a chunk's result records."""
    counts = dict.fromkeys(SUMMARY_FIELDS, 0)
    for record in records:
        counts["rows"] += 1
        counts[record["outcome"]] += 1
        counts["warnings"] += len(record["warnings"])
    return counts
