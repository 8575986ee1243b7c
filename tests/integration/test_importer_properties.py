"""Property-based attacks on the importer (planner and pipeline) through the real handler, against
moto: whatever bytes are stored as a pending upload (mixed line endings, quotes, a BOM in the
middle, invalid UTF-8 anywhere, headers mixing template and unknown columns, random cells), every
record is handled without an exception and the job ends in a terminal state: FAILED with a
file-level error, or COMPLETED(_WITH_ERRORS) with ``rows = created + updated + unchanged + failed``;
the report exists with one line per data row, the source left ``pending/``, no chunk file is left."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lambdas.common.config import CHUNKS_PREFIX, FAILED_PREFIX, PENDING_PREFIX, PROCESSED_PREFIX, Settings
from lambdas.handlers import importer as handler
from local.resources import create_bucket, create_tables
from testkit.context import FakeLambdaContext
from testkit.import_stack import ImportStack, build_import_stack, sqs_event, upload_event

EXAMPLES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"}
TENANT = "property-tenant"
MAX_ROUNDS = 20
RECYCLE_AFTER = 100

TEMPLATE_COLUMNS = [
    "user_username",
    "user_name",
    "user_password",
    "user_email",
    "user_language",
    "user_active",
    "user_role",
    "user_organizationId",
    "user_externalId",
    "user_metadata_grade",
    "group_name",
    "group_description",
    "group_active",
    "group_organizationId",
    "group_role",
    "group_metadata_room",
    "hierarchy_organizationId",
    "hierarchy_organizationName",
    "hierarchy_organizationDescription",
    "hierarchy_parentOrganizationId",
    "session_deliveryId",
    "session_batteryId",
    "session_name",
    "session_timezone",
    "session_startDate",
    "session_endDate",
]
UNKNOWN_COLUMNS = ["colour", "", "USER_USERNAME", " user_name", "user_metadata_", "\ufeffuser_username", 'a"b', "x\ny"]
REQUIRED_HEADERS: list[list[str]] = [
    [],
    ["user_username", "user_name", "user_password"],
    ["group_name"],
    ["hierarchy_organizationId", "hierarchy_organizationName"],
    ["user_username", "group_name", "group_role"],
    ["session_deliveryId", "group_name", "session_name"],
]
MEANINGFUL_CELLS = [
    "",
    "jdoe",
    "Secret#123",
    "weak",
    "TRUE",
    "false",
    "1",
    "0",
    "root",
    "org-1",
    "en-US",
    "jdoe@example.org",
    "ADMIN|SUPPORT",
    "GRADER",
    "Europe/Paris",
    "2026-01-01T00:00:00Z",
    "2025-12-31T23:59:59Z",
    "=1+1",
    "@SUM(A1)",
    "-2",
    "\ufeff",
]
CELL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)


class Accounts:
    """moto keeps deep copies of DynamoDB items on writes (about 1 MB per import here), which a
    2000-example run cannot afford in one account: a fresh account every ``RECYCLE_AFTER`` imports."""

    def __init__(self) -> None:
        self._mock: Any = None
        self._stack: ImportStack | None = None
        self._uses = 0

    def stack(self) -> ImportStack:
        if self._stack is None or self._uses >= RECYCLE_AFTER:
            self.close()
            self._mock = mock_aws()
            self._mock.start()
            config = Settings(password_hash_log2_n=4)
            s3 = boto3.client("s3")
            create_bucket(s3, config)
            create_tables(boto3.client("dynamodb"), config)
            self._stack, self._uses = build_import_stack({"s3": s3}, config), 0
        self._uses += 1
        return self._stack

    def close(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = self._stack = None


@pytest.fixture(scope="module")
def accounts() -> Iterator[Accounts]:
    accounts = Accounts()
    yield accounts
    accounts.close()


def quote(cell: str, always: bool) -> str:
    if always or any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV-ish file: a header among template and unknown columns, ragged rows of meaningful or
    random cells, quoted or not, each line with its own line ending, BOMs, maybe a bad byte."""
    required = draw(st.sampled_from(REQUIRED_HEADERS))
    extra = draw(
        st.lists(
            st.sampled_from(TEMPLATE_COLUMNS) | st.sampled_from(UNKNOWN_COLUMNS),
            min_size=0 if required else 1,
            max_size=5,
            unique=draw(st.booleans()),
        )
    )
    header = draw(st.permutations(required + extra))
    width = len(header)
    cell = st.sampled_from(MEANINGFUL_CELLS) | CELL_TEXT
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=width + 1), max_size=6))
    always_quote = draw(st.booleans())
    endings = st.sampled_from(["\r\n", "\n", "\r"])
    lines = [",".join(quote(c, always_quote) for c in line) + draw(endings) for line in [header, *rows]]
    if draw(st.integers(0, 3)) == 0:  # a stray line: blank, a lone quote, a quote inside a bare cell
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["\n", "\r\n", '"', 'a"b,c\n'])))
    text = draw(st.sampled_from(["", "\ufeff"])) + "".join(lines)
    if draw(st.integers(0, 3)) == 0:  # a BOM in the middle
        middle = draw(st.integers(0, len(text)))
        text = text[:middle] + "\ufeff" + text[middle:]
    content = bytearray(text.encode("utf-8"))
    if content and draw(st.integers(0, 3)) == 0:  # one byte that cannot be UTF-8 there
        content[draw(st.integers(0, len(content) - 1))] = draw(st.sampled_from([0x80, 0xC3, 0xED, 0xFE, 0xFF]))
    return bytes(content)


def import_to_the_end(stack: ImportStack, content: bytes, chunk_rows: int) -> tuple[str, list[str]]:
    """Store ``content`` as a pending upload and deliver its S3 event and every chunk message it
    causes; the reference and the ids of records the importer reported failed."""
    ref = stack.seed_upload(content, tenant=TENANT)
    importer = stack.importer(import_chunk_rows=chunk_rows)
    failures: list[str] = []
    event = upload_event(ref)
    for _ in range(MAX_ROUNDS):
        answer = handler.process_batch(event, FakeLambdaContext(), importer)
        failures += [item["itemIdentifier"] for item in answer["batchItemFailures"]]
        bodies = stack.queue_bodies()
        if not bodies:
            break
        event = sqs_event(bodies)
    return ref, failures


def assert_settled(stack: ImportStack, ref: str, failures: list[str]) -> None:
    """The audit every import must pass, whatever its file."""
    assert failures == [], "a record was reported failed: the importer raised"
    job = stack.job(ref, TENANT)
    summary = {name: int(value) for name, value in job["summary"].items()}
    report = list(csv.reader(io.StringIO(stack.text(f"import-csv/results/{ref}.csv"))))
    data_rows = [int(line[0]) for line in report[1:] if int(line[0]) >= 2]
    assert job["status"] in TERMINAL
    assert report[0] == ["row", "key", "outcome", "code", "column", "message"]
    assert summary["rows"] == summary["created"] + summary["updated"] + summary["unchanged"] + summary["failed"]
    assert stack.keys(f"{PENDING_PREFIX}{ref}.csv") == []
    assert stack.keys(f"{CHUNKS_PREFIX}{ref}/") == []
    if job["status"] == "FAILED":
        [error] = job["errors"]
        # SPEC: file-level errors use row 0 or 1 (MALFORMED_CSV names its line in the message).
        assert error["code"] and error["row"] in (0, 1)
        assert summary == dict.fromkeys(summary, 0)
        assert [line[2] for line in report[1:]] == ["failed"]
        assert stack.keys(f"{FAILED_PREFIX}{ref}.csv") == [f"{FAILED_PREFIX}{ref}.csv"]
    else:
        assert (job["status"] == "COMPLETED_WITH_ERRORS") == (summary["failed"] > 0)
        assert len(job["errors"]) == min(summary["failed"], 100)
        assert data_rows == sorted(set(data_rows)) and len(data_rows) == summary["rows"]
        assert stack.keys(f"{PROCESSED_PREFIX}{ref}.csv") == [f"{PROCESSED_PREFIX}{ref}.csv"]


@EXAMPLES
@given(content=csv_files(), chunk_rows=st.sampled_from([1, 2, 2000]))
def test_any_csv_file_ends_in_a_terminal_state_with_consistent_counts(
    accounts: Accounts, content: bytes, chunk_rows: int
) -> None:
    # Given any CSV-like file stored as a pending upload
    stack = accounts.stack()
    # When the importer handles its S3 event and every chunk message that follows
    ref, failures = import_to_the_end(stack, content, chunk_rows)
    # Then no record failed, the job is terminal with consistent counts, report and file are in place
    assert_settled(stack, ref, failures)
    job = stack.job(ref, TENANT)
    event(f"{job['status']} {job['errors'][0]['code'] if job['status'] == 'FAILED' else job.get('template')}")


@EXAMPLES
@given(data=st.data())
def test_invalid_utf8_at_any_position_fails_the_file_with_invalid_encoding(accounts: Accounts, data: Any) -> None:
    # Given a valid users file with one byte anywhere replaced by a byte that cannot be UTF-8 there
    stack = accounts.stack()
    content = bytearray(b"user_username,user_name,user_password\r\njdoe,John Doe,Secret#123\r\nann,Ann,Secret#123\r\n")
    content[data.draw(st.integers(0, len(content) - 1))] = data.draw(st.sampled_from([0x80, 0xBF, 0xFE, 0xFF]))
    # When it is imported
    ref, failures = import_to_the_end(stack, bytes(content), 2000)
    # Then the file fails as a whole with INVALID_ENCODING at row 0, and nothing was imported
    assert_settled(stack, ref, failures)
    job = stack.job(ref, TENANT)
    assert job["status"] == "FAILED"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(0, "INVALID_ENCODING")]


@EXAMPLES
@given(
    rows=st.lists(st.tuples(st.sampled_from(["jdoe", "ann", "=x", "b,c", 'q"t']), CELL_TEXT), max_size=8),
    newline=st.sampled_from(["\r\n", "\n", "\r"]),
    chunk_rows=st.sampled_from([1, 3, 2000]),
)
def test_valid_users_header_imports_every_row_once(
    accounts: Accounts, rows: list[tuple[str, str]], newline: str, chunk_rows: int
) -> None:
    # Given a users file with a valid header and random rows (repeated keys, names with quotes and newlines)
    stack = accounts.stack()
    lines = ["user_username,user_name,user_password"]
    lines += [f"{quote(user, True)},{quote(name, True)},Secret#123" for user, name in rows]
    # When it is imported, fanned out or not
    ref, failures = import_to_the_end(stack, (newline.join(lines) + newline).encode(), chunk_rows)
    # Then it is never FAILED and every data row is counted exactly once
    assert_settled(stack, ref, failures)
    job = stack.job(ref, TENANT)
    assert job["status"] != "FAILED"
    assert int(job["summary"]["rows"]) == len(rows)
