"""Every error and warning code the import reports, with its meaning, in one place.

The codes are stable: clients match on them. ``docs/IMPORT_ERRORS.md`` carries the same table;
a unit test renders it from ``CATALOGUE`` and keeps the two in sync.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NamedTuple

Level = Literal["file", "row"]
Severity = Literal["error", "warning"]


class Code(StrEnum):
    # File level: the job ends FAILED, nothing is written (except the warnings UNKNOWN_COLUMN and
    # DUPLICATE_COLUMN, reported on the header row). The first six: the file as a whole (the
    # importer's checks of a presigned upload, and of the bytes as CSV text).
    EMPTY_FILE = "EMPTY_FILE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    INVALID_FILE_TYPE = "INVALID_FILE_TYPE"
    INVALID_ENCODING = "INVALID_ENCODING"
    MALFORMED_CSV = "MALFORMED_CSV"
    MISSING_HEADER = "MISSING_HEADER"
    EMPTY_HEADER = "EMPTY_HEADER"
    UNKNOWN_TEMPLATE = "UNKNOWN_TEMPLATE"
    MISSING_COLUMN = "MISSING_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    UNKNOWN_COLUMN = "UNKNOWN_COLUMN"
    # Row level, stateless (planning).
    TOO_MANY_CELLS = "TOO_MANY_CELLS"
    MISSING_MANDATORY_FIELD = "MISSING_MANDATORY_FIELD"
    INVALID_KEY = "INVALID_KEY"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_LANGUAGE = "INVALID_LANGUAGE"
    INVALID_BOOLEAN = "INVALID_BOOLEAN"
    BOOLEAN_AS_NUMBER = "BOOLEAN_AS_NUMBER"
    INVALID_ROLE = "INVALID_ROLE"
    INVALID_GROUP_ROLE = "INVALID_GROUP_ROLE"
    INVALID_DATE = "INVALID_DATE"
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    INVALID_TIMEZONE = "INVALID_TIMEZONE"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 (a code, not a password)
    DUPLICATE_KEY = "DUPLICATE_KEY"
    # Row level, against the stored roster (apply).
    UNKNOWN_ORGANIZATION = "UNKNOWN_ORGANIZATION"
    HIERARCHY_TOO_DEEP = "HIERARCHY_TOO_DEEP"
    HIERARCHY_CYCLE = "HIERARCHY_CYCLE"
    UNKNOWN_USER = "UNKNOWN_USER"
    UNKNOWN_GROUP = "UNKNOWN_GROUP"
    SESSION_GROUP_CHANGE = "SESSION_GROUP_CHANGE"


class Entry(NamedTuple):
    level: Level
    severity: Severity
    meaning: str


CATALOGUE: dict[Code, Entry] = {
    Code.EMPTY_FILE: Entry("file", "error", "The stored file is empty (a presigned upload of no bytes)."),
    Code.FILE_TOO_LARGE: Entry("file", "error", "The stored file is over the upload size limit (10 MiB)."),
    Code.INVALID_FILE_TYPE: Entry(
        "file", "error", "The stored file is not CSV text (NUL bytes, a binary signature, or not a .csv/.csv.gz)."
    ),
    Code.INVALID_ENCODING: Entry("file", "error", "The file is not UTF-8 text (a BOM is allowed)."),
    Code.MALFORMED_CSV: Entry(
        "file", "error", "The CSV cannot be read (e.g. an unclosed quote); the message names the line. Row 0."
    ),
    Code.MISSING_HEADER: Entry("file", "error", "The file has no header row (only blank lines)."),
    Code.EMPTY_HEADER: Entry("file", "error", "The header row is empty: no column names at all."),
    Code.UNKNOWN_TEMPLATE: Entry("file", "error", "The header matches none of the six templates."),
    Code.MISSING_COLUMN: Entry("file", "error", "The header lacks a column the detected template requires."),
    Code.DUPLICATE_COLUMN: Entry(
        "file",
        "warning",
        "A column name repeats in the header (as in TAO's own session templates). The first one counts: "
        "rows with one cell fewer per repeat map onto the header without the repeats; in other rows the "
        "repeat's cells are ignored.",
    ),
    Code.UNKNOWN_COLUMN: Entry("file", "warning", "A column the template does not know; it is ignored."),
    Code.TOO_MANY_CELLS: Entry("row", "error", "The row has more cells than the header has columns."),
    Code.MISSING_MANDATORY_FIELD: Entry(
        "row", "error", "A mandatory field is blank, or absent (a short row, or a column missing on create)."
    ),
    Code.INVALID_KEY: Entry("row", "error", "The key has surrounding spaces, or is the reserved id `root`."),
    Code.INVALID_EMAIL: Entry("row", "error", "`user_email` is not an e-mail address."),
    Code.INVALID_LANGUAGE: Entry("row", "error", "`user_language` is not a BCP 47 language tag such as `en-US`."),
    Code.INVALID_BOOLEAN: Entry("row", "error", "An `*_active` cell is not TRUE, FALSE, 1 or 0."),
    Code.BOOLEAN_AS_NUMBER: Entry("row", "warning", "An `*_active` cell is 1 or 0; read as TRUE or FALSE."),
    Code.INVALID_ROLE: Entry("row", "error", "`user_role` holds a role outside the global roles."),
    Code.INVALID_GROUP_ROLE: Entry("row", "error", "`group_role` is not one of the group roles."),
    Code.INVALID_DATE: Entry("row", "error", "A session date is not an ISO 8601 date-time with `Z` or an offset."),
    Code.INVALID_DATE_RANGE: Entry("row", "error", "`session_startDate` is not before `session_endDate`."),
    Code.INVALID_TIMEZONE: Entry("row", "error", "`session_timezone` is not an IANA time zone name."),
    Code.WEAK_PASSWORD: Entry("row", "error", "`user_password` is under 8 characters or lacks upper, lower, special."),
    Code.DUPLICATE_KEY: Entry("row", "error", "The row's key already appeared on an earlier row of the file."),
    Code.UNKNOWN_ORGANIZATION: Entry("row", "error", "An organization id is neither `root` nor an existing one."),
    Code.HIERARCHY_TOO_DEEP: Entry("row", "error", "The organization would sit deeper than 15 levels."),
    Code.HIERARCHY_CYCLE: Entry("row", "error", "The organization would become its own ancestor."),
    Code.UNKNOWN_USER: Entry("row", "error", "`user_username` names no existing user of the tenant."),
    Code.UNKNOWN_GROUP: Entry("row", "error", "`group_name` names no existing group of the tenant."),
    Code.SESSION_GROUP_CHANGE: Entry("row", "error", "The row would move an existing session to another group."),
}

WARNINGS = frozenset(code for code, entry in CATALOGUE.items() if entry.severity == "warning")
