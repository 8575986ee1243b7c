"""The contract between the import pipeline (``lambdas.importer``) and the roster rules.

Rows are identified by their spreadsheet line: header = 1, first data record = 2 (a quoted
newline does not start a new line). File-level issues use row 0 (before the header) or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["created", "updated", "unchanged", "failed"]


@dataclass(frozen=True, slots=True)
class Issue:
    row: int
    column: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


class FileRejected(Exception):
    """A file-level problem: the job ends ``FAILED`` and nothing is written."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


@dataclass(slots=True)
class PlannedRow:
    """A row that passed the stateless checks: its cells of the columns the file has (blank
    cells as ""), named by ``columns``, so absent columns can keep stored values. ``values`` is
    the mapping, built when the row is applied: planning reads a whole file in one invocation,
    applying is spread over the chunks' invocations. Not frozen: one is built per row of up to
    100,000, and a frozen dataclass's ``__init__`` costs five times as much; nothing changes one
    after the planner built it."""

    row: int
    key: str
    columns: tuple[str, ...]
    cells: Sequence[str]
    warnings: tuple[Issue, ...] = field(default=())
    _values: dict[str, str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_values(cls, row: int, key: str, values: dict[str, str], warnings: tuple[Issue, ...] = ()) -> PlannedRow:
        planned = cls(row, key, tuple(values), tuple(values.values()), warnings)
        planned._values = values
        return planned

    @property
    def values(self) -> dict[str, str]:
        if self._values is None:
            self._values = dict(zip(self.columns, self.cells, strict=True))
        return self._values

    def __eq__(self, other: object) -> bool:  # kept by the dataclass, which then makes it unhashable
        if not isinstance(other, PlannedRow):
            return NotImplemented
        return (self.row, self.key, self.values, self.warnings) == (other.row, other.key, other.values, other.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "key": self.key,
            "columns": self.columns,
            "cells": self.cells,
            "warnings": [w.to_dict() for w in self.warnings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedRow:
        warnings = tuple(Issue(**w) for w in data["warnings"])
        if "values" in data:  # a chunk written before rows carried their cells
            return cls.from_values(data["row"], data["key"], data["values"], warnings)
        return cls(data["row"], data["key"], tuple(data["columns"]), data["cells"], warnings)


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    key: str
    outcome: Outcome
    issue: Issue | None = None
    warnings: tuple[Issue, ...] = field(default=())
