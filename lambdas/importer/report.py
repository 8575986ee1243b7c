"""The result report (docs/IMPORT.md) and the status lists that come with it.

Columns ``row,key,outcome,code,column,message``; file-level lines (row 0 or 1) first, then one
line per data row in row order. A data row's ``code/column/message`` is its first error, or its
first warning when it succeeded with warnings. File-level lines have outcome ``failed`` (an
error) or ``warning``. No cell can carry a password: rows are reported by key and issue only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import IO, Any

REPORT_COLUMNS = ("row", "key", "outcome", "code", "column", "message")
STATUS_LIST_LIMIT = 100
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would run as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


class ReportWriter:
    """Writes the report into ``sink`` (bytes, UTF-8) while keeping the first 100 errors (one per
    failing row) and the first 100 warnings for the job's status."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        self._csv.writerow(REPORT_COLUMNS)
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []

    def file_error(self, issue: Mapping[str, Any]) -> None:
        self._line(issue["row"], "", "failed", issue)
        self._keep(self.errors, issue)

    def file_warning(self, issue: Mapping[str, Any]) -> None:
        self._line(issue["row"], "", "warning", issue)
        self._keep(self.warnings, issue)

    def row(self, record: Mapping[str, Any]) -> None:
        """One result record of a chunk (``lambdas.importer.chunks``)."""
        issue = record["issue"]
        warnings = record["warnings"]
        if issue is not None:
            self._keep(self.errors, issue)
        for warning in warnings:
            self._keep(self.warnings, warning)
        self._line(record["row"], record["key"], record["outcome"], issue or (warnings[0] if warnings else None))

    def finish(self) -> None:
        """Flush the report into ``sink`` and leave ``sink`` open."""
        self._text.flush()
        self._text.detach()

    def _line(self, row: int, key: str, outcome: str, issue: Mapping[str, Any] | None) -> None:
        detail = ("", "", "") if issue is None else (issue["code"], issue["column"] or "", issue["message"])
        self._csv.writerow([neutralise(str(cell)) for cell in (row, key, outcome, *detail)])

    @staticmethod
    def _keep(target: list[dict[str, Any]], issue: Mapping[str, Any]) -> None:
        if len(target) < STATUS_LIST_LIMIT:
            target.append(
                {"row": issue["row"], "column": issue["column"], "code": issue["code"], "message": issue["message"]}
            )
