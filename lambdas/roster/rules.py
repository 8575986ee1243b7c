"""Cell rules: one stateless check per kind of cell, and the conversion to the stored value.

A check takes a non-blank cell and answers ``None`` (valid) or a ``Code`` (an error, or a warning
when the code is in ``codes.WARNINGS``). Checks run once per cell of up to 100,000 rows, so they
are precompiled regexes and small caches over repeated values (languages, roles, time zones).
Messages never quote a password. Each rule is written here once; the planner calls it per cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from lambdas.roster.codes import Code

Check = Callable[[str], Code | None]
Convert = Callable[[str], Any]

GLOBAL_ROLES = frozenset(
    {
        "ADMIN",
        "CONTENT_CREATOR",
        "GROUP_CREATOR",
        "PUBLIC_SESSION_MANAGER",
        "BATTERY_MANAGER",
        "SUPPORT",
        "DATA_EXPLORER",
        "SYSTEM_MANAGER",
    }
)
GROUP_ROLES = frozenset({"GROUP_MANAGER", "GRADER", "TEST_TAKER", "BOOKLET_PUBLISHER", "SCAN_UPLOADER"})
ROOT = "root"
PASSWORD_MIN_LENGTH = 8

# A practical address check (one @, no spaces, a dot in the domain), not RFC 5322. Each class
# excludes the literal that follows it, so a match is found or refused in linear time.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")

# RFC 5646 language tag (langtag and private use), case-insensitive. Grandfathered tags and the
# reserved 4-8 letter language subtags (no language is registered so) are not accepted.
_BCP47 = re.compile(
    r"""
    (?:
      [a-z]{2,3}(?:-[a-z]{3}){0,3}                  # language (+ extlang); 4-8 letters: none registered
      (?:-[a-z]{4})?                                # script
      (?:-(?:[a-z]{2}|[0-9]{3}))?                   # region
      (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*      # variants
      (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*          # extensions
      (?:-x(?:-[a-z0-9]{1,8})+)?                    # private use
    | x(?:-[a-z0-9]{1,8})+
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)

# ISO 8601 date-time with ``Z`` or an offset. Every part but the year may drop its zero padding: the
# TAO sample files write 2024-1-31T12:00:00Z. Read as the instant it names (stored in UTC).
_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d*)?)?"
    r"(?:[Zz]|([+-])([01]\d|2[0-3])(?::?([0-5]\d))?)"
)

_SPECIAL = re.compile(r"[^\w\s]|_")


def is_blank(cell: str) -> bool:
    return not cell or cell.isspace()


# The column form of a rule: which cells of a whole column the rule answers. A rule may have a
# fast path that tells, from the rule's own parts, whether it accepts every cell of a column; when
# it does not, and for every other rule, each cell goes through the rule itself.
_FAST_PATHS: dict[Check, Callable[[Sequence[str]], bool]] = {}


class _Memo(dict[str, "Code | None"]):
    """A check over few distinct values (languages, roles, booleans, time zones): after the first
    sight of a value its answer is one dict look-up (``memo[cell]``, no Python call). Bounded."""

    __slots__ = ("_compute",)
    LIMIT = 4096

    def __init__(self, compute: Check) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, cell: str) -> Code | None:
        answer = self._compute(cell)
        if len(self) < self.LIMIT:
            self[cell] = answer
        return answer


def memoized(compute: Check) -> Check:
    """The rule with its answers kept; its column form asks it once per distinct cell."""
    check = _Memo(compute).__getitem__
    _FAST_PATHS[check] = lambda column: not any(map(check, set(column)))
    return check


def check_email(cell: str) -> Code | None:
    return None if _EMAIL.fullmatch(cell) else Code.INVALID_EMAIL


def _language(cell: str) -> Code | None:
    return None if _BCP47.fullmatch(cell) else Code.INVALID_LANGUAGE


check_language = memoized(_language)


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _boolean(cell: str) -> Code | None:
    """``TRUE``/``FALSE`` in any case; ``1``/``0`` accepted with a warning."""
    if cell == "1" or cell == "0":
        return Code.BOOLEAN_AS_NUMBER
    return None if cell.lower() in _BOOLEANS else Code.INVALID_BOOLEAN


check_boolean = memoized(_boolean)


def to_boolean(cell: str) -> bool:
    """Blank means the default, TRUE."""
    return True if is_blank(cell) else _BOOLEANS[cell.lower()]


def _roles(cell: str) -> Code | None:
    """``|``-separated global roles, any case."""
    return None if all(part.strip().upper() in GLOBAL_ROLES for part in cell.split("|")) else Code.INVALID_ROLE


check_roles = memoized(_roles)


def to_roles(cell: str) -> list[str]:
    """Upper case, in file order, without repeats."""
    return list(dict.fromkeys(part.strip().upper() for part in cell.split("|")))


def _group_role(cell: str) -> Code | None:
    return None if cell.upper() in GROUP_ROLES else Code.INVALID_GROUP_ROLE


check_group_role = memoized(_group_role)


def to_upper(cell: str) -> str:
    return cell.upper()


def parse_utc(cell: str) -> datetime | None:
    """The instant an ISO 8601 date-time names, in UTC; ``None`` when the cell is not one (no
    ``Z`` or offset, an impossible date or time, an offset beyond ±23:59)."""
    match = _DATETIME.fullmatch(cell)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, offset_hours, offset_minutes = match.groups()
    try:
        zone = UTC
        if sign is not None:
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes or 0))
            zone = timezone(-offset if sign == "-" else offset)
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=zone,
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # 2024-02-30, 25:00, an offset of 24 h, year 1 minus an offset
        return None


def check_utc_date(cell: str) -> Code | None:
    return None if parse_utc(cell) is not None else Code.INVALID_DATE


def to_utc_date(cell: str) -> str:
    """Stored in one canonical form (``2024-01-31T12:00:00Z``) so equal dates compare equal."""
    parsed = parse_utc(cell)
    assert parsed is not None  # checked while planning
    text = f"{parsed.year:04d}-{parsed:%m-%dT%H:%M:%S}"
    if parsed.microsecond:
        text += f".{parsed.microsecond:06d}".rstrip("0")
    return text + "Z"


def _timezone(cell: str) -> Code | None:
    """An IANA name known to ``zoneinfo`` (system tz database, or the ``tzdata`` package)."""
    try:
        ZoneInfo(cell)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; odd paths raise ValueError
        return Code.INVALID_TIMEZONE
    return None


check_timezone = memoized(_timezone)


def _joins_apart(joined: str, cells: int, separator: str) -> bool:
    """Whether ``joined``, ``cells`` cells joined by ``separator``, splits back into them: no cell
    holds the separator (and there are cells)."""
    return cells > 0 and joined.count(separator) == cells - 1


# The password rule: at least ``PASSWORD_MIN_LENGTH`` characters, and a character of each kind it
# needs: an upper-case letter (a character ``lower()`` changes), a lower-case letter (one
# ``upper()`` changes) and a special character (neither a letter, a digit nor a space; or "_").
# Each need holds for a text when it holds for one of its characters.
_PASSWORD_NEEDS: tuple[Callable[[str], object], ...] = (
    lambda text: text != text.lower(),
    lambda text: text != text.upper(),
    _SPECIAL.search,
)
# Per need, the ASCII characters without it (NUL aside, the column form's separator).
_ASCII_WITHOUT = tuple(bytes(b for b in range(1, 128) if not need(chr(b))) for need in _PASSWORD_NEEDS)


def check_password(cell: str) -> Code | None:
    if len(cell) >= PASSWORD_MIN_LENGTH and all(need(cell) for need in _PASSWORD_NEEDS):
        return None
    return Code.WEAK_PASSWORD


def _every_password(column: Sequence[str]) -> bool:
    """Whether every cell of an ASCII column is a password, per need in one pass over the joined
    cells: deleting the characters without the need leaves no cell empty."""
    joined = "\0".join(column)
    if not (_joins_apart(joined, len(column), "\0") and joined.isascii()):
        return False  # each cell through the rule
    if min(map(len, column)) < PASSWORD_MIN_LENGTH:
        return False
    encoded = joined.encode("ascii")
    return all(_no_empty_part(encoded.translate(None, without)) for without in _ASCII_WITHOUT)


def _no_empty_part(kept: bytes) -> bool:
    """Whether every NUL-separated part of ``kept`` holds a character."""
    return bool(kept) and kept[0] != 0 and kept[-1] != 0 and b"\0\0" not in kept


def _every_address(column: Sequence[str]) -> bool:
    """Whether every cell is an address, with one match of the address pattern repeated over the
    column joined by newlines (no address holds a space of any kind)."""
    joined = "\n".join(column)
    return _joins_apart(joined, len(column), "\n") and _EMAILS.fullmatch(joined) is not None


_EMAILS = re.compile(rf"(?:(?:{_EMAIL.pattern})\n)*(?:{_EMAIL.pattern})")
_FAST_PATHS[check_email] = _every_address
_FAST_PATHS[check_password] = _every_password


def failing(check: Check, column: Sequence[str]) -> list[int]:
    """Positions of the cells of ``column`` that ``check`` answers (an error or a warning)."""
    fast_path = _FAST_PATHS.get(check)
    if fast_path is not None and fast_path(column):
        return []
    answers = list(map(check, column))
    if answers.count(None) == len(answers):
        return []
    return [k for k, answer in enumerate(answers) if answer is not None]


def same(cell: str) -> str:
    return cell
