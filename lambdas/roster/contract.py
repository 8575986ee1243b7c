"""The contract between the import pipeline (``lambdas.importer``) and the roster rules.

Rows are identified by their spreadsheet line: header = 1, first data record = 2 (a quoted
newline does not start a new line). File-level issues use row 0 (before the header) or 1.
"""

from __future__ import annotations

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
    """A row that passed the stateless checks. ``values`` holds the cells of the columns the file
    has (blank cells as ""), so absent columns can keep stored values. Not frozen: one is built
    per row of up to 100,000, and a frozen dataclass's ``__init__`` costs five times as much;
    nothing changes one after the planner built it."""

    row: int
    key: str
    values: dict[str, str]
    warnings: tuple[Issue, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "key": self.key,
            "values": self.values,
            "warnings": [w.to_dict() for w in self.warnings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedRow:
        return cls(
            row=data["row"],
            key=data["key"],
            values=data["values"],
            warnings=tuple(Issue(**w) for w in data["warnings"]),
        )


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    key: str
    outcome: Outcome
    issue: Issue | None = None
    warnings: tuple[Issue, ...] = field(default=())
