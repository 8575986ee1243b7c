"""``Planner.check_rows`` answers exactly what ``Planner.check`` answers row by row, and the
planning pass that batches rows (``lambdas.importer.planning``) cuts the same chunks and raises
the same file errors as reading and checking one record at a time."""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lambdas.importer import planning
from lambdas.importer.chunks import ChunkItem, item_from_json, item_to_json
from lambdas.roster.codes import Code
from lambdas.roster.contract import FileRejected, Issue, PlannedRow
from lambdas.roster.planner import Planner

HEADERS: dict[str, list[str]] = {
    "users": [
        "user_username",
        "user_name",
        "user_password",
        "user_email",
        "user_language",
        "user_active",
        "user_role",
        "user_organizationId",
        "user_externalId",
        "user_metadata_team",
    ],
    "users, reordered, an unknown column": [
        "user_email",
        "extra",
        "user_active",
        "user_username",
        "user_password",
        "user_role",
    ],
    "users, one column": ["user_username"],
    "users, metadata": ["user_metadata_a", "user_metadata_b", "user_username", "user_metadata_c", "user_metadata_d"],
    "groups": ["group_name", "group_description", "group_active", "group_organizationId", "group_metadata_x"],
    "organizations": [
        "hierarchy_organizationId",
        "hierarchy_organizationName",
        "hierarchy_organizationDescription",
        "hierarchy_parentOrganizationId",
    ],
    "link-new-user-to-groups": [
        "user_username",
        "user_password",
        "user_email",
        "user_language",
        "user_active",
        "group_role",
        "group_name",
        "user_organizationId",
    ],
    "link-existing-user-to-groups": ["group_name", "user_username", "group_role"],
    "sessions (delivery)": [
        "session_deliveryId",
        "group_name",
        "group_active",
        "session_name",
        "session_timezone",
        "session_startDate",
        "session_endDate",
        "session_submissionDate",
    ],
    "sessions, a repeated column (as TAO's templates)": [
        "session_deliveryId",
        "session_name",
        "session_startDate",
        "group_name",
        "session_startDate",
        "session_endDate",
    ],
    "sessions (battery)": [
        "session_batteryId",
        "group_name",
        "session_name",
        "session_startDate",
        "session_endDate",
        "unknown",
    ],
}

TROUBLE = ["", " ", "  \t", "\n", "a\nb", "x\r", "\r\n", "\u00a0", "\u2028", " key", "key ", "é", "ß"]
KEYS = ["k1", "k2", "k3", "root", "ROOT", "g1", "u1"]
VALID: dict[str, list[str]] = {
    "user_password": ["Secret-Pass1", "Passw0rd!x", "ÉCOLE-école1", "Ünïcode_pw1", "Aa" + "\u00e9" * 6 + "!"],
    "user_email": ["u1@example.com", "a.b@c.d.e", "ü@exämple.org", "x@y.z\x1b", "a\u00a0b@c.d"],
    "user_language": ["en-US", "fr", "zh-Hant-TW", "x-private", "EN-us"],
    "user_active": ["TRUE", "false", "True"],
    "group_active": ["TRUE", "FALSE"],
    "user_role": ["ADMIN", "admin|support", " SUPPORT | ADMIN "],
    "group_role": ["GRADER", "test_taker"],
    "session_timezone": ["Europe/Warsaw", "UTC"],
    "session_startDate": ["2024-01-01T08:00:00Z", "2024-1-31T12:00:00.5Z"],
    "session_endDate": ["2024-01-01T10:00:00Z", "2023-01-01T10:00:00+00:00"],
    "session_submissionDate": ["2024-02-01T10:00:00Z"],
    "hierarchy_parentOrganizationId": ["", "root", "k1", "k2"],
}
INVALID: dict[str, list[str]] = {
    "user_password": ["short1!", "alllower1!", "ALLUPPER1!", "NoSpecial12", "éééééééé!", "Pass word1", "Ab!\n12345"],
    "user_email": ["no-at", "a@b", "a@@b.c", "a b@c.d", "a@b..c", "@b.c", "a@.b.c", "a@b.c.", "a@b.c\n"],
    "user_language": ["english", "e", "en_US", "en-", "x"],
    "user_active": ["1", "0", "yes", "2", "TRUE\n"],
    "group_active": ["1", "0", "maybe"],
    "user_role": ["ROOT", "ADMIN|", "ADMIN||SUPPORT", "GRADER"],
    "group_role": ["ADMIN", "grader|test_taker"],
    "session_timezone": ["Mars/Olympus", "../etc", "utc "],
    "session_startDate": ["2024-02-30T08:00:00Z", "yesterday", "2024-01-01 08:00:00Z", "2024-01-01T09:00:00Z"],
    "session_endDate": ["2024-13-01T10:00:00Z", "2023-12-31T10:00:00Z", "2024-01-01T08:00:00Z"],
    "session_submissionDate": ["tomorrow"],
}
KEY_COLUMNS = {
    "user_username",
    "group_name",
    "hierarchy_organizationId",
    "session_deliveryId",
    "session_batteryId",
    "hierarchy_parentOrganizationId",
}


def cell_for(column: str) -> st.SearchStrategy[str]:
    choices: list[st.SearchStrategy[str]] = [st.sampled_from(TROUBLE)]
    if column in KEY_COLUMNS:
        choices.append(st.sampled_from(KEYS))
    if column in VALID:
        choices.append(st.sampled_from(VALID[column]))
    if column in INVALID:
        choices.append(st.sampled_from(INVALID[column]))
    choices.append(st.text(max_size=12))
    choices.append(st.text(alphabet=string.ascii_letters + string.digits + "!@.-_ ", min_size=1, max_size=14))
    if column in VALID:  # mostly valid cells, so that most rows pass and errors stand alone
        choices.append(st.sampled_from(VALID[column]))
        choices.append(st.sampled_from(VALID[column]))
    return st.one_of(choices)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, list[str]]], list[int]]:
    """A header, its records (row numbers with gaps, as blank lines leave) and batch sizes."""
    header = HEADERS[draw(st.sampled_from(sorted(HEADERS)))]
    count = draw(st.integers(min_value=0, max_value=60))
    records: list[tuple[int, list[str]]] = []
    row = 1
    for _ in range(count):
        row += draw(st.sampled_from([1, 1, 1, 2]))
        cells = [draw(cell_for(name)) for name in header]
        shape = draw(st.sampled_from(["same"] * 12 + ["fewer", "one fewer", "more", "empty-cell-list"]))
        if shape == "one fewer":
            cells = cells[1:]
        elif shape == "fewer":
            cells = cells[: draw(st.integers(min_value=0, max_value=len(cells) - 1))]
        elif shape == "more":
            cells = [*cells, draw(st.sampled_from(["", "x"]))]
        elif shape == "empty-cell-list":
            cells = [""]
        records.append((row, cells))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=5))
    return header, records, sizes


def in_batches(records: list[tuple[int, list[str]]], sizes: list[int]) -> Iterator[tuple[list[int], list[list[str]]]]:
    start, k = 0, 0
    while start < len(records):
        size = sizes[k % len(sizes)]
        batch = records[start : start + size]
        yield [row for row, _ in batch], [cells for _, cells in batch]
        start += size
        k += 1


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files())
def test_check_rows_answers_what_check_answers_row_by_row(
    case: tuple[list[str], list[tuple[int, list[str]]], list[int]],
) -> None:
    # Given a file's records (valid and invalid cells of every checked column, blank and spaced
    # cells, newlines, wrong cell counts, repeated keys) cut into batches of varied sizes
    header, records, sizes = case
    one_by_one, batched = Planner.start(header, seed="ref"), Planner.start(header, seed="ref")
    # When one planner checks row by row and a fresh one checks the batches
    expected = [one_by_one.check(row, cells) for row, cells in records]
    answered: list[PlannedRow | Issue] = []
    for rows, cells in in_batches(records, sizes):
        answered += batched.check_rows(rows, cells)
    # Then the answers are the same, row for row (first error, warnings, values, duplicates)
    assert answered == expected


def test_check_rows_of_a_clean_batch_builds_every_row_and_catches_duplicates_across_batches() -> None:
    # Given a users header and two batches of valid rows, the second repeating a key of the first
    header = HEADERS["users, reordered, an unknown column"]
    planner = Planner.start(header)
    first = [[f"u{i}@example.org", "?", "TRUE", f"u{i}", "Secret-Pass1", "ADMIN"] for i in range(50)]
    second = [["z@example.org", "?", "false", "u7", "Secret-Pass1", "SUPPORT"]]
    # When both batches are checked
    planned = planner.check_rows(range(2, 52), first)
    repeated = planner.check_rows([60], second)
    # Then every row of the first is planned with the known columns only, in file order
    assert [item.key for item in planned if isinstance(item, PlannedRow)] == [f"u{i}" for i in range(50)]
    assert planned[3] == PlannedRow.from_values(
        5,
        "u3",
        {
            "user_email": "u3@example.org",
            "user_active": "TRUE",
            "user_username": "u3",
            "user_password": "Secret-Pass1",
            "user_role": "ADMIN",
        },
    )
    # And the repeated key is a DUPLICATE_KEY on its row
    assert repeated == [
        Issue(60, "user_username", Code.DUPLICATE_KEY, "The key appears on an earlier row."),
    ]
    assert planner.check_rows([], []) == []


# -- planning: batches read and cut as row by row ---------------------------------------------
def reference_records(stream: io.BytesIO) -> Iterator[tuple[int, list[str]]]:
    """The record reader before batching (the oracle)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    row = 0
    try:
        for cells in reader:
            row += 1
            if cells:
                yield row, cells
    except UnicodeDecodeError as error:
        raise FileRejected(Issue(0, None, planning.INVALID_ENCODING, "The file is not UTF-8 text.")) from error
    except csv.Error as error:
        message = f"The CSV is malformed at line {row + 1}: {error}."
        raise FileRejected(Issue(0, None, planning.MALFORMED_CSV, message)) from error


def reference_plan(data: bytes, chunk_rows: int) -> tuple[list[list[ChunkItem]], Issue | None]:
    """The planning pass before batching, row by row: the chunks yielded, then the file error."""
    chunks: list[list[ChunkItem]] = []
    try:
        rows = reference_records(io.BytesIO(data))
        first = next(rows, None)
        if first is None or first[0] != 1:
            raise FileRejected(Issue(1, None, planning.MISSING_HEADER, "The file has no header row."))
        planner = Planner.start(first[1], seed="s")
        limit = None if planner.template in planning.UNSPLIT_TEMPLATES else chunk_rows
        chunk: list[ChunkItem] = []
        planned = 0
        for row, cells in rows:
            item = planner.check(row, cells)
            if not isinstance(item, Issue):
                if planned == limit:
                    chunks.append(chunk)
                    chunk, planned = [], 0
                planned += 1
            chunk.append(item)
        chunks.append(chunk)
    except FileRejected as rejected:
        return chunks, rejected.issue
    return chunks, None


def batched_plan(
    data: bytes, chunk_rows: int, planner_type: Any = Planner
) -> tuple[list[list[ChunkItem]], Issue | None]:
    chunks: list[list[ChunkItem]] = []
    try:
        _, found = planning.plan(io.BytesIO(data), planner_type.start, seed="s", chunk_rows=chunk_rows)
        for chunk in found:
            chunks.append(chunk)
    except FileRejected as rejected:
        return chunks, rejected.issue
    return chunks, None


LINES = [
    b"u%d,Secret-Pass1,u%d@example.org\n",
    b"u%d,weak,u%d@example.org\n",
    b"u%d,Secret-Pass1,bad-%d\n",
    b"\n",
    b'"u%d\nwith a newline",Secret-Pass1,u%d@example.org\n',
    b"u1,Secret-Pass1,u%d@example.%d\n",
    b"u%d,Secret-Pass1\n",
]
BREAKERS = [b'u1,"open quote\n', b"u2,\xff\xfe,x\n", b'u3,a"b,c\n', b"\0"]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([b"user_username,user_password,user_email\n", b"\n" + b"user_username\n", b""]))
    if draw(st.booleans()):
        header = b"\xef\xbb\xbf" + header
    body = bytearray(header)
    for n in range(draw(st.integers(min_value=0, max_value=3000))):
        line = LINES[draw(st.sampled_from([0] * 20 + list(range(1, len(LINES)))))]
        body += line.replace(b"%d", str(n).encode())
    if draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(body)))
        body[at:at] = draw(st.sampled_from(BREAKERS))
    return bytes(body)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=csv_files(), chunk_rows=st.sampled_from([1, 3, 1000, 2000]))
def test_planning_in_batches_yields_the_chunks_and_errors_of_row_by_row(data: bytes, chunk_rows: int) -> None:
    # Given a CSV file (blank lines, quoted newlines, invalid rows, perhaps cut by a CSV or UTF-8 error)
    # When it is planned in batches, and row by row as before
    expected = reference_plan(data, chunk_rows)
    # Then the same chunks come out, in the same order, before the same file error
    assert batched_plan(data, chunk_rows) == expected
    assert read_all(planning.records(io.BytesIO(data))) == read_all(reference_records(io.BytesIO(data)))


def read_all(records: Iterator[tuple[int, list[str]]]) -> tuple[list[tuple[int, list[str]]], Issue | None]:
    read: list[tuple[int, list[str]]] = []
    try:
        for record in records:
            read.append(record)
    except FileRejected as rejected:
        return read, rejected.issue
    return read, None


@pytest.mark.parametrize("rows", [0, 1, planning.BATCH_ROWS - 1, planning.BATCH_ROWS, planning.BATCH_ROWS + 1])
def test_planning_around_the_batch_size(rows: int) -> None:
    data = b"user_username,user_email\n" + b"".join(b"u%d,u%d@example.org\n" % (n, n) for n in range(rows))
    assert batched_plan(data, 1000) == reference_plan(data, 1000)


def test_a_stream_error_comes_after_the_chunks_before_it() -> None:
    # Given a body that fails (as an S3 read may) after 5,000 rows
    class Failing(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data, self._at = data, 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if self._at >= len(self._data):
                raise ConnectionError("reset")
            size = min(len(buffer), len(self._data) - self._at, 1000)
            buffer[:size] = self._data[self._at : self._at + size]
            self._at += size
            return size

    data = b"user_username\n" + b"".join(b"u%d\n" % n for n in range(5000))
    _, chunks = planning.plan(io.BufferedReader(Failing(data)), Planner.start, seed="s", chunk_rows=1000)
    # When the chunks are consumed
    seen = []
    with pytest.raises(ConnectionError):
        for chunk in chunks:
            seen.append(len(chunk))
    # Then the full chunks of the rows read before the error came first, as row by row
    assert seen == [1000, 1000, 1000, 1000]


_CELLS = st.lists(
    st.one_of(
        st.text(max_size=14),
        st.text(string.printable, min_size=6, max_size=12),
        st.sampled_from(["Passw0rd!", "ΑΣ€abcdE", "İstanbul#x", "ßtraße!Ab", "a@b.c", "x\0y@b.co", "a@b.c\nd@e.f"]),
        st.builds(lambda a, b: f"{a}\0{b}", st.text(max_size=6), st.text(max_size=6)),
    ),
    max_size=12,
)


@given(column=_CELLS)
@example(column=["Passw0rd!\0X", "passw0rd!x"])  # a separator in a cell must not shift the next cells
@example(column=["Strong#Pass1", "a@b.co", "İİİİİİİİ!"])
@example(column=["Strong#Pass1", "Strong_pass1", "STRONG#PASS1"])  # ASCII: one cell lacks a need
@example(column=["Strong#Pass1", "Strong#Pass1 "])
def test_a_rules_column_form_answers_the_cells_its_cell_form_answers(column: list[str]):
    from lambdas.roster import rules

    for check in (rules.check_password, rules.check_email, rules.check_language):
        assert rules.failing(check, column) == [k for k, cell in enumerate(column) if check(cell) is not None]


def test_a_chunk_line_carries_a_planned_row_whole_and_reads_the_form_written_before_it() -> None:
    # Given planned rows of both paths: the batch (cells as read) and a row of its own (a short row)
    planner = Planner.start(["user_username", "user_email", "user_metadata_x"])
    batch = planner.check_rows([2, 3], [["u1", "u1@example.org", "x"], ["u2", "u2@example.org", "y"]])
    short = planner.check(4, ["u3", "u3@example.org"])
    # When each goes through a chunk line (JSON) and back
    again = [item_from_json(json.loads(json.dumps(item_to_json(item)))) for item in [*batch, short]]
    # Then each is the row it was, its values included (a short row lacks its absent column)
    assert again == [*batch, short]
    assert [row.values for row in again if isinstance(row, PlannedRow)] == [
        {"user_username": "u1", "user_email": "u1@example.org", "user_metadata_x": "x"},
        {"user_username": "u2", "user_email": "u2@example.org", "user_metadata_x": "y"},
        {"user_username": "u3", "user_email": "u3@example.org"},
    ]
    # And a line written before rows carried their cells (values as a mapping) reads as the same row
    before = {"planned": {"row": 4, "key": "u3", "values": short.values, "warnings": []}}  # type: ignore[union-attr]
    assert item_from_json(before) == short
