"""Planning: the header decides the template, then every row gets the stateless checks.

``Planner.start(header)`` rejects what makes the whole file unusable (``FileRejected``) and
precomputes, for this header, the positions and checks of the cells; ``check(row, cells)`` then
runs each cell's rule (``lambdas.roster.rules``, the one place a rule is written) once per row.
The stateful checks (what exists in the roster) are ``lambdas.roster.apply``'s.

Rows and header need not have the same width (docs/IMPORT.md, "CSV format"), because TAO's own
session templates repeat ``session_waitingPageDate`` in the header over rows one cell short:

* a repeated column name is a ``DUPLICATE_COLUMN`` warning; its first occurrence counts;
* a row with exactly one cell fewer per repeat maps onto the header without the repeats;
* any other row maps onto the whole header, and the repeats' cells are ignored; a row shorter
  than the header lacks its trailing columns (absent: the stored values stay), a longer row is
  ``TOO_MANY_CELLS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter

from lambdas.roster import rules
from lambdas.roster.codes import WARNINGS, Code
from lambdas.roster.contract import FileRejected, Issue, PlannedRow
from lambdas.roster.keyset import KeySet
from lambdas.roster.templates import END_DATE, ORGANIZATION_ID, PARENT_ID, START_DATE, Template, detect

_MESSAGES: dict[Code, str] = {
    Code.MISSING_MANDATORY_FIELD: "{column} is mandatory and is blank.",
    Code.INVALID_EMAIL: "{column} is not an e-mail address.",
    Code.INVALID_LANGUAGE: "{column} is not a BCP 47 language tag such as en-US.",
    Code.INVALID_BOOLEAN: "{column} must be TRUE or FALSE.",
    Code.BOOLEAN_AS_NUMBER: "{column} is 1 or 0; read as TRUE or FALSE. Prefer TRUE or FALSE.",
    Code.INVALID_ROLE: "{column} must be |-separated global roles (ADMIN, CONTENT_CREATOR, ...).",
    Code.INVALID_GROUP_ROLE: (
        "{column} must be one of GROUP_MANAGER, GRADER, TEST_TAKER, BOOKLET_PUBLISHER, SCAN_UPLOADER."
    ),
    Code.INVALID_DATE: "{column} must be an ISO 8601 date-time with Z or an offset, such as 2024-01-31T12:00:00Z.",
    Code.INVALID_TIMEZONE: "{column} is not an IANA time zone such as Europe/Warsaw.",
    Code.WEAK_PASSWORD: (
        "{column} must have at least 8 characters with an upper-case letter, a lower-case letter "
        "and a special character."
    ),
}


class Planner:
    """Stateless checks of one file. Not thread-safe: one planner per file, rows in file order."""

    __slots__ = (
        "_absent",
        "_blank_row",
        "_checked",
        "_every_column_known",
        "_extra",
        "_key_at",
        "_known_cells",
        "_names",
        "_repeats",
        "_required",
        "_seed",
        "_seen",
        "_single_key",
        "_width",
        "template_spec",
        "warnings",
    )

    def __init__(self, template: Template, header: Sequence[str], warnings: list[Issue], seed: str | None) -> None:
        self.template_spec = template
        self.warnings = warnings
        self._seed = seed
        self._width = len(header)
        self._seen = KeySet()  # exact; compact past the product's file limit (see keyset.py)
        self._repeats = _repeats(header)
        known = [
            (i, name) for i, name in enumerate(header) if i not in self._repeats and template.column(name) is not None
        ]
        self._absent = _AbsentColumns(known)
        # Mandatory cells first, then formats; each list in column order. ``None`` check: free text.
        self._required: list[tuple[int, str]] = []
        self._checked: list[tuple[int, str, rules.Check]] = []
        for i, name in known:
            column = template.column(name)
            assert column is not None
            if column.mandatory == "always":
                self._required.append((i, name))
            if column.check is not None:
                self._checked.append((i, name, column.check))
        # A row's values: the known columns' names, and their cells picked in one call (in C).
        self._names = tuple(name for _, name in known)
        self._known_cells = _cells_at([i for i, _ in known])
        self._every_column_known = len(known) == self._width  # then a row's cells are its known cells
        self._blank_row = ("",) * self._width
        position: dict[str, int] = {}
        for i, name in enumerate(header):
            position.setdefault(name, i)  # the first occurrence counts
        self._key_at = tuple(position[name] for name in template.key)
        self._single_key = self._key_at[0] if len(self._key_at) == 1 else None
        self._extra: Callable[[int, str, dict[str, str]], Issue | str | None] | None = None
        if template.name == "organizations":
            self._extra = self._organization
        elif template.name == "sessions" and START_DATE in position and END_DATE in position:
            self._extra = self._session_dates

    @property
    def template(self) -> str:
        return self.template_spec.name

    @classmethod
    def start(cls, header: Sequence[str], *, seed: str | None = None) -> Planner:
        """Detect the template of ``header`` (BOM already stripped) or raise ``FileRejected``.

        ``seed`` (the import's reference id) makes generated organization ids deterministic
        (uuid5 of seed and row), so re-planning the same file after a crash yields the same ids;
        without it they are random (uuid4).
        """
        header = list(header)
        if not any(name.strip() for name in header):
            raise FileRejected(Issue(1, None, Code.EMPTY_HEADER, "The header row is empty."))
        seen = set(header)
        template = detect(header)
        for name in template.required_header:
            if name not in seen:
                raise FileRejected(
                    Issue(1, name, Code.MISSING_COLUMN, f"The {template.name} template needs a {name} column.")
                )
        repeats = _repeats(header)
        warnings = [
            Issue(1, name, Code.DUPLICATE_COLUMN, f"Column {name} repeats in the header; the first one counts.")
            if i in repeats
            else Issue(
                1, name, Code.UNKNOWN_COLUMN, f"Column {name} is not part of the {template.name} template; ignored."
            )
            for i, name in enumerate(header)
            if i in repeats or template.column(name) is None
        ]
        return cls(template, header, warnings, seed)

    def check(self, row_number: int, cells: Sequence[str]) -> PlannedRow | Issue:
        """The row ready to apply, or its first error: cell count, blank mandatory cells, formats
        (each in column order), the key, template extras (organizations, session dates), duplicates."""
        absent: tuple[str, ...] = ()
        if len(cells) != self._width:
            if len(cells) > self._width:
                message = f"The row has {len(cells)} cells; the header has {self._width} columns."
                return Issue(row_number, None, Code.TOO_MANY_CELLS, message)
            cells, absent = self._widened(cells)
        issue = self._blank_mandatory(row_number, cells, absent)
        if issue is not None:
            return issue
        warnings: list[Issue] = []
        for i, name, check in self._checked:
            cell = cells[i]
            if cell and not cell.isspace() and (found := check(cell)) is not None:
                if found not in WARNINGS:
                    return _issue(row_number, name, found)
                warnings.append(_issue(row_number, name, found))
        return self._planned(row_number, cells, absent, tuple(warnings))

    def check_rows(self, rows: Sequence[int], cells: Sequence[Sequence[str]]) -> list[PlannedRow | Issue]:
        """``[self.check(row, row_cells) for ...]``, with the rules run a column at a time: each
        rule is called once per cell as in ``check`` (a memoized rule is a dict look-up), and the
        rows where any rule answered, or any mandatory cell is blank, or the key has spaces, go
        through ``check`` itself. The other rows (almost all, in a good file) are built directly."""
        if self._extra is not None or self._single_key is None or set(map(len, cells)) != {self._width}:
            return list(map(self.check, rows, cells))
        columns = list(zip(*cells, strict=True)) or [()] * self._width
        unusual: set[int] = set()
        for i in [i for i, _ in self._required] + [self._single_key]:
            stripped = list(map(str.strip, columns[i]))
            if i == self._single_key and stripped != list(columns[i]):
                unusual.update(
                    k for k, (cell, bare) in enumerate(zip(columns[i], stripped, strict=True)) if cell != bare
                )
            if "" in stripped:
                unusual.update(k for k, bare in enumerate(stripped) if not bare)
        for i, _, check in self._checked:
            unusual.update(rules.failing(check, columns[i]))
        keys = columns[self._single_key]
        known_cells = cells if self._every_column_known else map(self._known_cells, cells)
        if not unusual and all(new := self._seen.add_many(keys)):  # every row usual, every key new
            return list(map(PlannedRow, rows, keys, repeat(self._names), known_cells))
        if not unusual:
            pairs = zip(rows, keys, known_cells, new, strict=True)
            return [
                PlannedRow(row, key, self._names, row_cells) if added else self._duplicate(row)
                for row, key, row_cells, added in pairs
            ]
        items: list[PlannedRow | Issue] = []
        for k, (row, row_cells, key, known) in enumerate(zip(rows, cells, keys, known_cells, strict=True)):
            if k in unusual:
                items.append(self.check(row, row_cells))
            elif not self._seen.add(key):
                items.append(self._duplicate(row))
            else:
                items.append(PlannedRow(row, key, self._names, known))
        return items

    def _planned(
        self, row_number: int, cells: Sequence[str], absent: tuple[str, ...], warnings: tuple[Issue, ...]
    ) -> PlannedRow | Issue:
        """After the cell checks: the key, the values, template extras, duplicates."""
        key = self._key(row_number, cells)
        if isinstance(key, Issue):
            return key
        values = dict(zip(self._names, self._known_cells(cells), strict=True))
        for name in absent:
            del values[name]
        if self._extra is not None:
            extra = self._extra(row_number, key, values)
            if isinstance(extra, Issue):
                return extra
            key = extra or key
        if not self._seen.add(key):
            return self._duplicate(row_number)
        return PlannedRow.from_values(row_number, key, values, warnings)

    def _blank_mandatory(self, row_number: int, cells: Sequence[str], absent: tuple[str, ...]) -> Issue | None:
        for i, name in self._required:
            cell = cells[i]
            if not cell or cell.isspace():
                if name in absent:
                    message = f"{name} is mandatory; the row ends before it."
                    return Issue(row_number, name, Code.MISSING_MANDATORY_FIELD, message)
                return _issue(row_number, name, Code.MISSING_MANDATORY_FIELD)
        return None

    def _key(self, row_number: int, cells: Sequence[str]) -> str | Issue:
        """The row's key (parts joined by "#"); a key with surrounding spaces is an error (a blank
        single key is not: the organizations template generates one)."""
        if self._single_key is not None:
            key = cells[self._single_key]
            if key != key.strip() and not key.isspace():
                return Issue(row_number, self.template_spec.key[0], Code.INVALID_KEY, "The key has surrounding spaces.")
            return key
        parts = [cells[i] for i in self._key_at]
        for part, column in zip(parts, self.template_spec.key, strict=True):
            if part != part.strip():
                return Issue(row_number, column, Code.INVALID_KEY, "The key has surrounding spaces.")
        return "#".join(parts)

    def _widened(self, cells: Sequence[str]) -> tuple[Sequence[str], tuple[str, ...]]:
        """A row narrower than the header, as cells of the header's width ("" where the row has
        none) and the known columns it lacks: with one cell fewer per repeated column, its cells
        fill the header without the repeats; otherwise it lacks its trailing columns."""
        count = len(cells)
        if self._repeats and count == self._width - len(self._repeats):
            given = iter(cells)
            return [("" if i in self._repeats else next(given)) for i in range(self._width)], ()
        return [*cells, *self._blank_row[count:]], self._absent[count]

    def _duplicate(self, row_number: int) -> Issue:
        return Issue(row_number, self.template_spec.key[0], Code.DUPLICATE_KEY, "The key appears on an earlier row.")

    def _organization(self, row_number: int, key: str, values: dict[str, str]) -> Issue | str | None:
        """Generate a blank id; ``root`` is reserved; an organization cannot be its own parent.
        Whether the parent exists (an earlier row or the store) and the depth are apply's."""
        if rules.is_blank(key):
            if self._seed is None:
                key = str(uuid.uuid4())
            else:
                key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rostering:{self._seed}:{row_number}"))
            values[ORGANIZATION_ID] = key
            return key
        if key.lower() == rules.ROOT:
            return Issue(
                row_number, ORGANIZATION_ID, Code.INVALID_KEY, "root is reserved for the top of the hierarchy."
            )
        if values.get(PARENT_ID) == key:
            return Issue(row_number, PARENT_ID, Code.HIERARCHY_CYCLE, "An organization cannot be its own parent.")
        return None

    def _session_dates(self, row_number: int, key: str, values: dict[str, str]) -> Issue | str | None:
        start, end = values.get(START_DATE, ""), values.get(END_DATE, "")
        if rules.is_blank(start) or rules.is_blank(end):
            return None
        start_at, end_at = rules.parse_utc(start), rules.parse_utc(end)
        if start_at is not None and end_at is not None and start_at >= end_at:
            return Issue(row_number, END_DATE, Code.INVALID_DATE_RANGE, f"{START_DATE} must be before {END_DATE}.")
        return None


def _cells_at(indices: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    """``lambda cells: [cells[i] for i in indices]``, as ``operator.itemgetter`` (in C)."""
    if not indices:
        return lambda cells: ()
    if len(indices) == 1:
        (only,) = indices
        return lambda cells: (cells[only],)
    return itemgetter(*indices)


def _repeats(header: Sequence[str]) -> frozenset[int]:
    """Positions of the header's repeated names (every occurrence after the first; blank names
    are unknown columns, not repeats)."""
    seen: set[str] = set()
    repeats = set()
    for i, name in enumerate(header):
        if name in seen and name.strip():
            repeats.add(i)
        seen.add(name)
    return frozenset(repeats)


class _AbsentColumns(dict[int, tuple[str, ...]]):
    """Per width of a short row, the known columns (position, name) it lacks; computed on first sight."""

    __slots__ = ("_known",)

    def __init__(self, known: Sequence[tuple[int, str]]) -> None:
        super().__init__()
        self._known = known

    def __missing__(self, width: int) -> tuple[str, ...]:
        absent = self[width] = tuple(name for i, name in self._known if i >= width)
        return absent


def _issue(row_number: int, column: str, code: Code) -> Issue:
    return Issue(row_number, column, code, _MESSAGES[code].format(column=column))
