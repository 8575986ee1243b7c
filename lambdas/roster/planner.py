"""Planning: the header decides the template, then every row gets the stateless checks.

``Planner.start(header)`` rejects what makes the whole file unusable (``FileRejected``) and
precomputes, for this header, the positions and checks of the cells; ``check(row, cells)`` then
does a handful of list look-ups per row, and ``check_many(rows, cells)`` gives the same answers
for a batch of rows, checking a column at a time (the importer's planning pass uses it). The
stateful checks (what exists in the roster) are ``lambdas.roster.apply``'s.

Rows and header need not have the same width (SPEC section 6, "CSV format"), because TAO's own
session templates repeat ``session_waitingPageDate`` in the header over rows one cell short:

* a repeated column name is a ``DUPLICATE_COLUMN`` warning; its first occurrence counts;
* a row with exactly one cell fewer per repeat maps onto the header without the repeats;
* any other row maps onto the whole header, and the repeats' cells are ignored; a row shorter
  than the header lacks its trailing columns (absent: the stored values stay), a longer row is
  ``TOO_MANY_CELLS``.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
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
        "_extra",
        "_invalid",
        "_key_at",
        "_repeats",
        "_required",
        "_seed",
        "_seen",
        "_single_key",
        "_transpose",
        "_values",
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
        self._repeats = _repeats(header)
        known = [
            (i, name) for i, name in enumerate(header) if i not in self._repeats and template.column(name) is not None
        ]
        self._absent = _AbsentColumns(known)
        self._values = _values_of(tuple(name for _, name in known), [i for i, _ in known])
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
        # check_many: per checked column, a search for a line its check may reject (or None).
        self._invalid = [_invalid_line(check) for _, _, check in self._checked]
        self._blank_row = ("",) * self._width
        position: dict[str, int] = {}
        for i, name in enumerate(header):
            position.setdefault(name, i)  # the first occurrence counts
        self._key_at = tuple(position[name] for name in template.key)
        self._single_key = self._key_at[0] if len(self._key_at) == 1 else None
        # check_many takes its columns from one transposition of the batch when it needs at
        # least half of them, else one by one.
        needed = {i for i, _ in self._required} | {i for i, _, _ in self._checked} | set(self._key_at)
        self._transpose = 2 * len(needed) >= self._width
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
        count = len(cells)
        absent: tuple[str, ...] = ()
        if count != self._width:
            if count > self._width:
                message = f"The row has {count} cells; the header has {self._width} columns."
                return Issue(row_number, None, Code.TOO_MANY_CELLS, message)
            cells, absent = self._widened(cells)
        for i, name in self._required:
            cell = cells[i]
            if not cell or cell.isspace():
                if name in absent:
                    message = f"{name} is mandatory; the row ends before it."
                    return Issue(row_number, name, Code.MISSING_MANDATORY_FIELD, message)
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
        values = self._values(cells)
        for name in absent:
            del values[name]
        if self._extra is not None:
            extra = self._extra(row_number, key, values)
            if isinstance(extra, Issue):
                return extra
            if extra is not None:
                key = extra
        if not self._seen.add(key):
            return self._duplicate(row_number)
        return _planned_row(row_number, key, values, () if warnings is None else tuple(warnings))

    def _widened(self, cells: Sequence[str]) -> tuple[Sequence[str], tuple[str, ...]]:
        """A row narrower than the header, as cells of the header's width ("" where the row has
        none) and the known columns it lacks: with one cell fewer per repeated column, its cells
        fill the header without the repeats; otherwise it lacks its trailing columns."""
        count = len(cells)
        if self._repeats and count == self._width - len(self._repeats):
            given = iter(cells)
            return [("" if i in self._repeats else next(given)) for i in range(self._width)], ()
        return [*cells, *self._blank_row[count:]], self._absent[count]

    def check_many(self, rows: Sequence[int], cells: Sequence[Sequence[str]]) -> list[PlannedRow | Issue]:
        """``[self.check(row, row_cells) for row, row_cells in zip(rows, cells)]`` (as many rows
        as cells), computed a column at a time.

        Each check runs over a whole column: one regex search of the column's cells joined by
        "\\n" for a check with a pattern (``rules.accepted``), else one call per distinct cell
        (few for languages, booleans, roles, time zones: a memo look-up each).
        A row that any of these may reject (a wrong cell count, a blank mandatory cell, a cell a
        check declines or warns about, a key with surrounding spaces) goes through ``check``, in
        its place in file order, so its answer and its first error are ``check``'s. The other
        rows, almost all of them in a good file, are built without a Python call per row.
        """
        count = len(cells)
        if count == 0:
            return []
        given = cells
        suspects: set[int] = set()
        transposed: list[Sequence[str]] | None = None
        if self._transpose:
            with contextlib.suppress(ValueError):  # rows of different widths
                transposed = list(zip(*cells, strict=True))
            if transposed is not None and len(transposed) != self._width:  # all of one wrong width
                transposed = None
        if transposed is None and set(map(len, cells)) != {self._width}:
            cells = list(cells)
            for k, row_cells in enumerate(cells):
                if len(row_cells) != self._width:
                    suspects.add(k)
                    cells[k] = self._blank_row  # the row is checked by ``check``; a placeholder here
            if self._transpose:
                transposed = list(zip(*cells, strict=True))
        if transposed is not None:
            column: Callable[[int], Sequence[str]] = transposed.__getitem__
        else:

            def column(i: int) -> Sequence[str]:
                return list(map(itemgetter(i), cells))

        stripped: dict[int, list[str]] = {}  # by column; "" for a blank cell

        def strip(i: int) -> list[str]:
            found = stripped.get(i)
            if found is None:
                found = stripped[i] = list(map(str.strip, column(i)))
            return found

        for i, _ in self._required:
            if "" in strip(i):
                suspects.update(k for k, cell in enumerate(stripped[i]) if not cell)
        for (i, _, check), invalid in zip(self._checked, self._invalid, strict=True):
            suspects.update(_declined(column(i), check, invalid))
        keys: Sequence[str]
        if self._single_key is not None:
            keys = column(self._single_key)
            _spaced(keys, strip(self._single_key), suspects)
        else:
            parts = [column(i) for i in self._key_at]
            for i, part in zip(self._key_at, parts, strict=True):
                _spaced(part, strip(i), suspects)
            keys = list(map("#".join, zip(*parts, strict=True)))
        values_of = list(map(self._values, cells))
        if not suspects:
            return self._clean(rows, keys, values_of)
        items: list[PlannedRow | Issue] = []
        start = 0
        for k in (*sorted(suspects), count):
            if start < k:
                items += self._clean(rows[start:k], keys[start:k], values_of[start:k])
            if k < count:
                items.append(self.check(rows[k], given[k]))
            start = k + 1
        return items

    def _clean(
        self, rows: Sequence[int], keys: Sequence[str], values: Sequence[dict[str, str]]
    ) -> list[PlannedRow | Issue]:
        """The rows of a run whose cells passed every check: template extras, then duplicates."""
        if self._extra is not None:
            items: list[PlannedRow | Issue] = []
            for row, key, row_values in zip(rows, keys, values, strict=True):
                extra = self._extra(row, key, row_values)
                if isinstance(extra, Issue):
                    items.append(extra)
                    continue
                if extra is not None:
                    key = extra
                if not self._seen.add(key):
                    items.append(self._duplicate(row))
                else:
                    items.append(_planned_row(row, key, row_values, ()))
            return items
        new = self._seen.add_many(keys)
        planned: list[PlannedRow | Issue] = list(map(_new, repeat(PlannedRow, len(rows))))
        _drain(map(_set_row, planned, rows))
        _drain(map(_set_key, planned, keys))
        _drain(map(_set_values, planned, values))
        _drain(map(_set_warnings, planned, repeat(())))
        if False in new:
            for k, added in enumerate(new):
                if not added:
                    planned[k] = self._duplicate(rows[k])
        return planned

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


def _values_of(names: tuple[str, ...], indices: list[int]) -> Callable[[Sequence[str]], dict[str, str]]:
    """``lambda cells: dict(zip(names, [cells[i] for i in indices]))`` written as one dict display,
    which CPython builds presized in one step: half the time of ``dict(zip(...))``, once per row.
    The names (from the file's header) are variables of the generated function, never its text."""
    namespace: dict[str, Any] = {f"_{k}": name for k, name in enumerate(names)}
    entries = ", ".join(f"_{k}: cells[{i}]" for k, i in enumerate(indices))
    exec(f"def values(cells):\n    return {{{entries}}}\n", namespace)  # noqa: S102 (names and ints only)
    function: Callable[[Sequence[str]], dict[str, str]] = namespace["values"]
    return function


_drain: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend  # runs an iterator to its end in C


def _invalid_line(check: rules.Check) -> re.Pattern[str] | None:
    """For a check with a pattern: a search, in "\\n" + the column's cells joined by "\\n", for
    the "\\n" before a line that is neither blank (``check`` skips blank cells) nor accepted."""
    accepted = rules.accepted(check)
    if accepted is None:
        return None
    return re.compile(rf"\n(?!(?:{accepted}|[^\S\n]*)(?:\n|\Z))")


def _declined(cells: Sequence[str], check: rules.Check, invalid: re.Pattern[str] | None) -> Iterable[int]:
    """Positions of the cells that ``check`` may answer non-``None`` for (blank cells skipped);
    any position more is only slower, one less would be wrong."""
    if invalid is not None:
        text = "\n" + "\n".join(cells)
        if text.count("\n") == len(cells):  # no cell holds a newline: line k is cell k
            found: list[int] = []
            line, last = -1, 0
            for match in invalid.finditer(text):
                at = match.start() + 1
                line += text.count("\n", last, at)
                last = at
                found.append(line)
            return found
    declined = {cell for cell in set(cells) if cell and not cell.isspace() and check(cell) is not None}
    if not declined:
        return ()
    return [k for k, cell in enumerate(cells) if cell in declined]


def _spaced(keys: Sequence[str], stripped: list[str], suspects: set[int]) -> None:
    """Add the positions of key cells with surrounding spaces. ``str.strip`` returns the very
    string when there is nothing to strip, so the list comparison is by identity, in C."""
    if stripped != list(keys):
        suspects.update(k for k, (key, bare) in enumerate(zip(keys, stripped, strict=True)) if key != bare)


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
