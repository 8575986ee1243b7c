"""Planning: the header decides the template, then every row gets the stateless checks.

``Planner.start(header)`` rejects what makes the whole file unusable (``FileRejected``) and
precomputes, for this header, the positions and checks of the cells; ``check(row, cells)`` then
does a handful of list look-ups per row. The stateful checks (what exists in the roster) are
``lambdas.roster.apply``'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

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
    Code.INVALID_DATE: "{column} must be an ISO 8601 UTC date-time such as 2024-01-31T12:00:00Z.",
    Code.INVALID_TIMEZONE: "{column} is not an IANA time zone such as Europe/Warsaw.",
    Code.WEAK_PASSWORD: (
        "{column} must have at least 8 characters with an upper-case letter, a lower-case letter "
        "and a special character."
    ),
}


class Planner:
    """Stateless checks of one file. Not thread-safe: one planner per file, rows in file order."""

    __slots__ = (
        "_checked",
        "_extra",
        "_key_at",
        "_names",
        "_pick",
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
        self._seen = KeySet()
        known = [(i, name) for i, name in enumerate(header) if template.column(name) is not None]
        self._names = tuple(name for _, name in known)
        indices = [i for i, _ in known]
        # ``None``: every column is known and the cells zip with the header as they are.
        self._pick: Callable[[Sequence[str]], Any] | None = None
        if len(indices) == 1:
            self._pick = lambda cells, _i=indices[0]: (cells[_i],)
        elif len(indices) < self._width:
            self._pick = itemgetter(*indices)
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
        position = {name: i for i, name in enumerate(header)}
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
        seen: set[str] = set()
        for name in header:
            if name in seen and name.strip():
                raise FileRejected(Issue(1, name, Code.DUPLICATE_COLUMN, f"Column {name} appears twice in the header."))
            seen.add(name)
        template = detect(header)
        for name in template.required_header:
            if name not in seen:
                raise FileRejected(
                    Issue(1, name, Code.MISSING_COLUMN, f"The {template.name} template needs a {name} column.")
                )
        warnings = [
            Issue(1, name, Code.UNKNOWN_COLUMN, f"Column {name} is not part of the {template.name} template; ignored.")
            for name in header
            if template.column(name) is None
        ]
        return cls(template, header, warnings, seed)

    def check(self, row_number: int, cells: Sequence[str]) -> PlannedRow | Issue:
        """The row ready to apply, or its first error: cell count, blank mandatory cells, formats
        (each in column order), the key, template extras (organizations, session dates), duplicates."""
        count = len(cells)
        if count != self._width:
            code = Code.TOO_MANY_CELLS if count > self._width else Code.TOO_FEW_CELLS
            return Issue(row_number, None, code, f"The row has {count} cells; the header has {self._width} columns.")
        for i, name in self._required:
            cell = cells[i]
            if not cell or cell.isspace():
                return _issue(row_number, name, Code.MISSING_MANDATORY_FIELD)
        warnings: list[Issue] | None = None
        for i, name, check in self._checked:
            cell = cells[i]
            if cell and (found := check(cell)) is not None and not cell.isspace():  # spaces only: blank
                if found not in WARNINGS:
                    return _issue(row_number, name, found)
                if warnings is None:
                    warnings = []
                warnings.append(_issue(row_number, name, found))
        if self._single_key is not None:
            key = cells[self._single_key]
            if key != key.strip() and not key.isspace():
                return Issue(row_number, self.template_spec.key[0], Code.INVALID_KEY, "The key has surrounding spaces.")
        else:
            parts = [cells[i] for i in self._key_at]
            for part, column in zip(parts, self.template_spec.key, strict=True):
                if part != part.strip():
                    return Issue(row_number, column, Code.INVALID_KEY, "The key has surrounding spaces.")
            key = "#".join(parts)
        values = dict(zip(self._names, cells if self._pick is None else self._pick(cells)))  # noqa: B905 (counted)
        if self._extra is not None:
            extra = self._extra(row_number, key, values)
            if isinstance(extra, Issue):
                return extra
            if extra is not None:
                key = extra
        if not self._seen.add(key):
            return Issue(
                row_number, self.template_spec.key[0], Code.DUPLICATE_KEY, "The key appears on an earlier row."
            )
        return _planned_row(row_number, key, values, () if warnings is None else tuple(warnings))

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
        start, end = values[START_DATE], values[END_DATE]
        if rules.is_blank(start) or rules.is_blank(end):
            return None
        start_at, end_at = rules.parse_utc(start), rules.parse_utc(end)
        if start_at is not None and end_at is not None and start_at >= end_at:
            return Issue(row_number, END_DATE, Code.INVALID_DATE_RANGE, f"{START_DATE} must be before {END_DATE}.")
        return None


_new = object.__new__
_slots: Any = PlannedRow  # the slot descriptors, which mypy does not model
_set_row, _set_key = _slots.row.__set__, _slots.key.__set__
_set_values, _set_warnings = _slots.values.__set__, _slots.warnings.__set__


def _planned_row(row: int, key: str, values: dict[str, str], warnings: tuple[Issue, ...]) -> PlannedRow:
    """``PlannedRow(...)`` without the frozen dataclass's per-field ``object.__setattr__`` (40% of
    its cost, and it runs once per row). Same object: the slots are set once and never again."""
    planned: PlannedRow = _new(PlannedRow)
    _set_row(planned, row)
    _set_key(planned, key)
    _set_values(planned, values)
    _set_warnings(planned, warnings)
    return planned


def _issue(row_number: int, column: str, code: Code) -> Issue:
    return Issue(row_number, column, code, _MESSAGES[code].format(column=column))
