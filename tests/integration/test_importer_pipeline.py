"""The importer Lambda on SQS events wrapping S3 notifications and its own chunk messages,
against moto: job lifecycle, exactly-once counts under duplicates and crashes, fan-out, the
result report, where the file ends up, and the events published."""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest

from lambdas.common.config import (
    CHUNKS_PREFIX,
    FAILED_PREFIX,
    PENDING_PREFIX,
    PROCESSED_PREFIX,
    RESULTS_PREFIX,
)
from lambdas.handlers import importer as handler
from lambdas.importer import wiring
from lambdas.importer.chunks import RosterServices
from lambdas.jobs.objects import JobFiles
from lambdas.jobs.store import JobStore
from lambdas.roster.contract import PlannedRow, RowOutcome
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A
from testkit.import_stack import (
    USERS_HEADER,
    ImportStack,
    s3_put_body,
    s3_test_event_body,
    sqs_event,
    upload_event,
    users_csv,
)


def report_rows(stack: ImportStack, reference_id: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(stack.text(f"{RESULTS_PREFIX}{reference_id}.csv"))))


def roster_users(stack: ImportStack) -> list[dict[str, Any]]:
    return RosterStore(stack.settings.roster_table, resource=stack.dynamodb).query_all(TENANT_A, Entity.USER)


def crash_after(rows: int, rules: RosterServices) -> RosterServices:
    """The real rules, but applying a chunk writes its first ``rows`` rows and then crashes."""

    def apply(template: str, planned: Sequence[PlannedRow], **kwargs: Any) -> list[RowOutcome]:
        rules.apply(template, planned[:rows], **kwargs)
        raise RuntimeError("simulated crash in the middle of a chunk")

    return replace(rules, apply=apply)


# -- terminal states ------------------------------------------------------------------------
def test_valid_file_completes_with_every_row_created(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored users file of three valid rows
    ref = stack.seed_upload(users_csv(3))
    # When the importer receives its S3 event
    failures = stack.deliver(upload_event(ref), lambda_context)
    # Then the job is COMPLETED with three created rows and the users exist
    job = stack.job(ref)
    assert failures == []
    assert job["status"] == "COMPLETED"
    assert job["template"] == "users"
    assert job["summary"] == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "failed": 0, "warnings": 0}
    assert job["errors"] == [] and job["startedAt"] and job["finishedAt"]
    assert sorted(u["sk"] for u in roster_users(stack)) == ["user001", "user002", "user003"]


def test_row_errors_complete_with_errors_and_import_the_other_rows(stack: ImportStack, lambda_context: Any) -> None:
    # Given a users file whose second row has a weak password
    ref = stack.seed_upload(users_csv(3, weak=[2]))
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job is COMPLETED_WITH_ERRORS, the bad row is reported by spreadsheet line, the rest imported
    job = stack.job(ref)
    assert job["status"] == "COMPLETED_WITH_ERRORS"
    assert job["summary"]["created"] == 2 and job["summary"]["failed"] == 1
    assert job["errors"] == [
        {"row": 3, "column": "user_password", "code": "WEAK_PASSWORD", "message": job["errors"][0]["message"]}
    ]
    assert sorted(u["sk"] for u in roster_users(stack)) == ["user001", "user003"]


def test_unknown_template_fails_the_file_and_writes_nothing(stack: ImportStack, lambda_context: Any) -> None:
    # Given a file whose header matches no template
    ref = stack.seed_upload(b"colour,size\r\nred,XL\r\n")
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job is FAILED with a row-1 file-level error and the roster is untouched
    job = stack.job(ref)
    assert job["status"] == "FAILED"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(1, "UNKNOWN_TEMPLATE")]
    assert job["summary"] == dict.fromkeys(("rows", "created", "updated", "unchanged", "failed", "warnings"), 0)
    assert roster_users(stack) == []


def test_file_over_the_size_limit_fails_file_too_large(stack: ImportStack, lambda_context: Any) -> None:
    # Given a file bigger than MAX_UPLOAD_BYTES (a presigned POST whose policy moto did not enforce)
    content = users_csv(3)
    ref = stack.seed_upload(content, source="presigned")
    # When it is imported with a limit below its size
    stack.deliver(upload_event(ref), lambda_context, max_upload_bytes=len(content) - 1)
    # Then the job is FAILED with FILE_TOO_LARGE at row 0 and nothing is imported
    job = stack.job(ref)
    assert job["status"] == "FAILED"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(0, "FILE_TOO_LARGE")]
    assert roster_users(stack) == []


def test_file_that_is_not_utf8_fails_invalid_encoding(stack: ImportStack, lambda_context: Any) -> None:
    # Given a Latin-1 file
    ref = stack.seed_upload(f"{USERS_HEADER}\r\nl\u00e9a,L\u00e9a,Secret#123\r\n".encode("latin-1"))
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job is FAILED with INVALID_ENCODING at row 0
    job = stack.job(ref)
    assert job["status"] == "FAILED"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(0, "INVALID_ENCODING")]


def test_empty_file_fails_missing_header(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored file without any line
    ref = stack.seed_upload(b"")
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job is FAILED with MISSING_HEADER at row 1
    assert [(e["row"], e["code"]) for e in stack.job(ref)["errors"]] == [(1, "MISSING_HEADER")]


def test_header_only_file_completes_with_zero_rows(stack: ImportStack, lambda_context: Any) -> None:
    # Given a users file with a header and no data row
    ref = stack.seed_upload(f"{USERS_HEADER}\r\n".encode())
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job is COMPLETED with an all-zero summary and a header-only report
    job = stack.job(ref)
    assert job["status"] == "COMPLETED"
    assert job["summary"]["rows"] == 0
    assert report_rows(stack, ref) == [["row", "key", "outcome", "code", "column", "message"]]


def test_bom_crlf_and_quoted_newlines_are_read_as_rfc4180(stack: ImportStack, lambda_context: Any) -> None:
    # Given a file with a BOM, CRLF line ends, and a quoted name holding a comma and a newline
    content = (
        codecs.BOM_UTF8
        + (f'{USERS_HEADER}\r\nuser001,"Doe, Jane\r\nSecond line",Secret#123\r\nuser002,Bob,weak\r\n').encode()
    )
    ref = stack.seed_upload(content)
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the header is recognised despite the BOM and the row after the quoted newline is row 3
    job = stack.job(ref)
    assert job["template"] == "users"
    assert job["summary"]["rows"] == 2 and job["summary"]["created"] == 1
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(3, "WEAK_PASSWORD")]


def test_dry_run_classifies_rows_and_writes_nothing_to_the_roster(stack: ImportStack, lambda_context: Any) -> None:
    # Given a dry-run upload of three new users
    ref = stack.seed_upload(users_csv(3), dry_run=True)
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the summary says what would be created, and the roster is untouched
    job = stack.job(ref)
    assert job["status"] == "COMPLETED" and job["dryRun"] is True
    assert job["summary"]["created"] == 3
    assert roster_users(stack) == []


# -- where the file ends up -----------------------------------------------------------------
def test_completed_import_moves_the_file_to_processed(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored valid file
    ref = stack.seed_upload(users_csv(1))
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then it left pending/ for processed/, with its content
    assert stack.keys(PENDING_PREFIX) == []
    assert stack.text(f"{PROCESSED_PREFIX}{ref}.csv") == users_csv(1).decode()


def test_failed_import_moves_the_file_to_failed(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored file that cannot be imported
    ref = stack.seed_upload(b"colour\r\nred\r\n")
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then it left pending/ for failed/
    assert stack.keys(PENDING_PREFIX) == []
    assert stack.keys(FAILED_PREFIX) == [f"{FAILED_PREFIX}{ref}.csv"]


# -- the report -----------------------------------------------------------------------------
def test_report_has_one_line_per_data_row_in_row_order(stack: ImportStack, lambda_context: Any) -> None:
    # Given a file of four rows, the third failing
    ref = stack.seed_upload(users_csv(4, weak=[3]))
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the report has the header and one line per row, in row order, with the failure's issue
    rows = report_rows(stack, ref)
    assert rows[0] == ["row", "key", "outcome", "code", "column", "message"]
    assert [r[:5] for r in rows[1:]] == [
        ["2", "user001", "created", "", ""],
        ["3", "user002", "created", "", ""],
        ["4", "", "failed", "WEAK_PASSWORD", "user_password"],
        ["5", "user004", "created", "", ""],
    ]


def test_report_neutralises_formula_cells_and_holds_no_password(stack: ImportStack, lambda_context: Any) -> None:
    # Given usernames a spreadsheet would run as formulas
    names = ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)"]
    lines = [USERS_HEADER] + [f'"{n}",Name,Secret#123' for n in names]
    ref = stack.seed_upload(("\r\n".join(lines) + "\r\n").encode())
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then every such key is prefixed with a single quote, and no password appears
    text = stack.text(f"{RESULTS_PREFIX}{ref}.csv")
    assert [r[1] for r in report_rows(stack, ref)[1:]] == ["'" + n for n in names]
    assert "Secret#123" not in text


def test_file_level_failure_is_a_report_line(stack: ImportStack, lambda_context: Any) -> None:
    # Given a users file whose header lacks user_username
    ref = stack.seed_upload(b"user_name,user_email\r\na,b\r\n")
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the report holds the one file-level line
    assert [r[:5] for r in report_rows(stack, ref)[1:]] == [["1", "", "failed", "MISSING_COLUMN", "user_username"]]


# -- delivery: duplicates, test events, keys, missing jobs ------------------------------------
def test_duplicate_s3_event_does_not_count_twice(stack: ImportStack, lambda_context: Any) -> None:
    # Given an imported file
    ref = stack.seed_upload(users_csv(2))
    stack.deliver(upload_event(ref), lambda_context)
    finished = stack.job(ref)
    stack.published_events()
    # When the same S3 event is delivered again
    failures = stack.deliver(upload_event(ref), lambda_context)
    # Then it is acknowledged and changes nothing: same job, no new event
    assert failures == []
    assert stack.job(ref) == finished
    assert stack.published_events() == []


def test_s3_test_event_is_ignored(stack: ImportStack, lambda_context: Any) -> None:
    # Given the s3:TestEvent S3 sends when notifications are configured
    event = sqs_event([s3_test_event_body()])
    # When the importer receives it
    failures = stack.deliver(event, lambda_context)
    # Then it succeeds without touching anything
    assert failures == []
    assert stack.keys("import-csv/") == []


def test_url_encoded_key_is_decoded(stack: ImportStack, lambda_context: Any) -> None:
    # Given an S3 event whose key is fully URL-encoded, as moto sends it ("/" as %2F)
    ref = stack.seed_upload(users_csv(1))
    event = sqs_event([s3_put_body(f"{PENDING_PREFIX}{ref}.csv", encode=lambda key: quote(key, safe=""))])
    # When the importer receives it
    stack.deliver(event, lambda_context)
    # Then the upload is imported
    assert stack.job(ref)["status"] == "COMPLETED"


def test_missing_job_is_recreated_from_the_object_metadata(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored upload without a job record (e.g. the job write was lost)
    ref = stack.seed_upload(users_csv(1), file_name="Liste élèves.csv", dry_run=True, with_job=False)
    # When its S3 event arrives
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job exists, described by the metadata, and the file was imported
    job = stack.job(ref)
    assert job["fileName"] == "Liste élèves.csv"
    assert job["dryRun"] is True
    assert job["status"] == "COMPLETED"


def test_upload_without_tenant_metadata_is_moved_to_failed(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored upload whose metadata names no tenant
    ref = stack.seed_upload(users_csv(1), tenant=None)
    # When its S3 event arrives
    failures = stack.deliver(upload_event(ref), lambda_context)
    # Then it is moved to failed/ (not left pending) and the message is done
    assert failures == []
    assert stack.keys(PENDING_PREFIX) == []
    assert stack.keys(FAILED_PREFIX) == [f"{FAILED_PREFIX}{ref}.csv"]


# -- crashes and leases ---------------------------------------------------------------------
def test_crashed_attempt_is_retried_not_acknowledged(stack: ImportStack, lambda_context: Any) -> None:
    # Given a file whose import crashes in the middle of applying it
    ref = stack.seed_upload(users_csv(4))
    event = upload_event(ref)
    # When the importer receives its event
    failures = stack.deliver(event, lambda_context, rules=crash_after(2, stack.rules()))
    # Then the record is reported failed (SQS delivers it again) and the job stays PROCESSING
    assert failures == [event["Records"][0]["messageId"]]
    assert stack.job(ref)["status"] == "PROCESSING"


def test_redelivery_while_the_lease_is_held_is_deferred(stack: ImportStack, lambda_context: Any) -> None:
    # Given an import that crashed a moment ago
    ref = stack.seed_upload(users_csv(4))
    stack.deliver(upload_event(ref), lambda_context, rules=crash_after(2, stack.rules()))
    # When the event is delivered again before the lease expires
    event = upload_event(ref)
    failures = stack.deliver(event, lambda_context)
    # Then it is deferred (failed again, nothing applied) rather than acknowledged
    assert failures == [event["Records"][0]["messageId"]]
    assert stack.job(ref)["status"] == "PROCESSING"


def test_crashed_attempt_is_taken_over_after_the_lease_with_exact_counts(
    stack: ImportStack, lambda_context: Any
) -> None:
    # Given an import that crashed after writing two of its four rows
    ref = stack.seed_upload(users_csv(4))
    stack.deliver(upload_event(ref), lambda_context, rules=crash_after(2, stack.rules()))
    # When the event is redelivered after the lease expired
    later = stack.job(ref)["leaseUntil"] + 1
    failures = stack.deliver(upload_event(ref), lambda_context, clock=lambda: float(later))
    # Then the job completes with exact counts, every row once in the report and the roster
    job = stack.job(ref)
    assert failures == []
    assert job["status"] == "COMPLETED"
    assert job["summary"] == {"rows": 4, "created": 4, "updated": 0, "unchanged": 0, "failed": 0, "warnings": 0}
    assert [r[0] for r in report_rows(stack, ref)[1:]] == ["2", "3", "4", "5"]
    assert sorted(u["sk"] for u in roster_users(stack)) == ["user001", "user002", "user003", "user004"]


def test_crash_after_the_file_moved_is_finished_on_redelivery_without_reapplying(
    stack: ImportStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import that crashed after its report and file move, before its terminal write
    ref = stack.seed_upload(users_csv(2))

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("simulated crash before the terminal write")

    with monkeypatch.context() as patch:
        patch.setattr(JobStore, "finish", crash)
        assert stack.deliver(upload_event(ref), lambda_context) != []
    assert stack.keys(PROCESSED_PREFIX) == [f"{PROCESSED_PREFIX}{ref}.csv"]
    # When the event is redelivered after the lease expired
    later = stack.job(ref)["leaseUntil"] + 1
    failures = stack.deliver(upload_event(ref), lambda_context, clock=lambda: float(later))
    # Then the job finishes from the recorded chunk: the counts of the first (and only) apply
    job = stack.job(ref)
    assert failures == []
    assert job["status"] == "COMPLETED"
    assert job["summary"]["created"] == 2


def test_chunk_files_left_by_a_failed_cleanup_are_deleted_when_the_upload_event_is_redelivered(
    stack: ImportStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a finished import whose chunk cleanup failed after the terminal write (record reported failed)
    ref = stack.seed_upload(users_csv(2))

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("simulated failure of the chunk cleanup")

    with monkeypatch.context() as patch:
        patch.setattr(JobFiles, "delete_chunks", crash)
        assert stack.deliver(upload_event(ref), lambda_context) != []
    assert stack.job(ref)["status"] == "COMPLETED" and stack.keys(f"{CHUNKS_PREFIX}{ref}/") != []
    # When SQS delivers the event again
    failures = stack.deliver(upload_event(ref), lambda_context)
    # Then the leftover chunk files are deleted and the job is left as it was
    assert failures == []
    assert stack.keys(f"{CHUNKS_PREFIX}{ref}/") == []
    assert stack.job(ref)["status"] == "COMPLETED"


# -- fan-out ---------------------------------------------------------------------------------
def fan_out(stack: ImportStack, lambda_context: Any, content: bytes) -> tuple[str, list[str]]:
    """Import ``content`` with chunks of 3 rows: the reference and the chunk messages sent."""
    ref = stack.seed_upload(content)
    stack.deliver(upload_event(ref), lambda_context, import_chunk_rows=3)
    return ref, stack.queue_bodies()


def test_big_file_is_fanned_out_in_one_message_per_chunk(stack: ImportStack, lambda_context: Any) -> None:
    # Given a file of ten rows and chunks of three
    # When its S3 event is handled
    ref, bodies = fan_out(stack, lambda_context, users_csv(10))
    # Then four chunk messages were sent, four chunk files written, and the job still runs
    assert sorted(json.loads(b)["chunk"] for b in bodies) == [0, 1, 2, 3]
    assert {json.loads(b)["referenceId"] for b in bodies} == {ref}
    assert len(stack.keys(f"{CHUNKS_PREFIX}{ref}/")) == 4
    job = stack.job(ref)
    assert job["status"] == "PROCESSING" and job["chunksTotal"] == 4
    assert roster_users(stack) == []


def test_chunks_in_any_order_and_duplicated_give_exact_counts(stack: ImportStack, lambda_context: Any) -> None:
    # Given a fanned-out file of ten rows, the fifth failing
    ref, bodies = fan_out(stack, lambda_context, users_csv(10, weak=[5]))
    # When the chunk messages arrive shuffled, one of them twice, one message per invocation
    deliveries = [*bodies, bodies[1]]
    random.Random(7).shuffle(deliveries)
    failures = [f for body in deliveries for f in stack.deliver(sqs_event([body]), lambda_context, import_chunk_rows=3)]
    # Then every row is counted once and the report lists the rows in order
    job = stack.job(ref)
    assert failures == []
    assert job["status"] == "COMPLETED_WITH_ERRORS"
    assert job["summary"] == {"rows": 10, "created": 9, "updated": 0, "unchanged": 0, "failed": 1, "warnings": 0}
    assert [r[0] for r in report_rows(stack, ref)[1:]] == [str(n) for n in range(2, 12)]
    assert len(roster_users(stack)) == 9


def test_fanned_out_job_is_finalized_once(stack: ImportStack, lambda_context: Any) -> None:
    # Given a fanned-out file whose start was published
    _, bodies = fan_out(stack, lambda_context, users_csv(7))
    stack.published_events()
    # When every chunk message is delivered twice
    for body in [*bodies, *bodies]:
        stack.deliver(sqs_event([body]), lambda_context)
    # Then exactly one terminal event was published
    events = stack.published_events()
    assert [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in events] == [("PROCESSING", "COMPLETED")]


def test_chunk_files_are_deleted_when_the_job_finishes(stack: ImportStack, lambda_context: Any) -> None:
    # Given a fanned-out file
    ref, bodies = fan_out(stack, lambda_context, users_csv(7))
    # When all its chunks are processed
    stack.deliver(sqs_event(bodies), lambda_context)
    # Then no chunk file (they hold passwords) is left, and the source is in processed/
    assert stack.job(ref)["status"] == "COMPLETED"
    assert stack.keys(CHUNKS_PREFIX) == []
    assert stack.keys(PROCESSED_PREFIX) == [f"{PROCESSED_PREFIX}{ref}.csv"]


def test_chunk_files_left_by_a_failed_cleanup_are_deleted_when_a_chunk_message_is_redelivered(
    stack: ImportStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fanned-out import whose last chunk finished the job but failed to delete the chunk files
    ref, bodies = fan_out(stack, lambda_context, users_csv(7))

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("simulated failure of the chunk cleanup")

    with monkeypatch.context() as patch:
        patch.setattr(JobFiles, "delete_chunks", crash)
        failures = [body for body in bodies if stack.deliver(sqs_event([body]), lambda_context)]
    assert len(failures) == 1 and stack.job(ref)["status"] == "COMPLETED"
    # When SQS delivers the failed chunk message again
    assert stack.deliver(sqs_event(failures), lambda_context) == []
    # Then no chunk file (they hold passwords) is left
    assert stack.keys(f"{CHUNKS_PREFIX}{ref}/") == []


def test_crash_in_the_middle_of_a_chunk_is_redelivered_with_exact_counts(
    stack: ImportStack, lambda_context: Any
) -> None:
    # Given a fanned-out file whose second chunk crashed after writing one of its rows
    ref, bodies = fan_out(stack, lambda_context, users_csv(9))
    chunk_1 = next(b for b in bodies if json.loads(b)["chunk"] == 1)
    assert stack.deliver(sqs_event([chunk_1]), lambda_context, rules=crash_after(1, stack.rules())) != []
    # When all chunk messages are then delivered (the crashed one again)
    stack.deliver(sqs_event(bodies), lambda_context)
    # Then the counts are exact and every user exists once
    assert stack.job(ref)["summary"] == {
        "rows": 9,
        "created": 9,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "warnings": 0,
    }
    assert len(roster_users(stack)) == 9


def test_concurrent_duplicate_of_a_chunk_is_counted_once(stack: ImportStack, lambda_context: Any) -> None:
    # Given a fanned-out file, and a chunk message that is delivered again while it is being applied
    ref, bodies = fan_out(stack, lambda_context, users_csv(6))
    first, second = sorted(bodies, key=lambda body: json.loads(body)["chunk"])
    rules = stack.rules()

    def apply_with_a_duplicate_racing(template: str, planned: Sequence[PlannedRow], **kwargs: Any) -> list[RowOutcome]:
        if planned[0].row == 2:  # the first chunk: its duplicate runs to completion meanwhile
            assert stack.deliver(sqs_event([first]), lambda_context) == []
        return rules.apply(template, planned, **kwargs)

    # When the first delivery finishes after its duplicate, then the other chunk arrives
    stack.deliver(sqs_event([first]), lambda_context, rules=replace(rules, apply=apply_with_a_duplicate_racing))
    stack.deliver(sqs_event([second]), lambda_context)
    # Then the chunk was counted once: the job finished only with both chunks, every row once
    job = stack.job(ref)
    assert job["status"] == "COMPLETED"
    assert job["summary"]["rows"] == 6
    assert [r[0] for r in report_rows(stack, ref)[1:]] == [str(n) for n in range(2, 8)]
    assert len(roster_users(stack)) == 6


def test_organizations_file_is_never_split(stack: ImportStack, lambda_context: Any) -> None:
    # Given an organizations file of five rows, each a child of the previous one
    lines = ["hierarchy_organizationId,hierarchy_organizationName,hierarchy_parentOrganizationId", "org1,Org 1,root"]
    lines += [f"org{n},Org {n},org{n - 1}" for n in range(2, 6)]
    ref = stack.seed_upload(("\r\n".join(lines) + "\r\n").encode(), file_name="orgs.csv")
    # When it is imported with chunks of three rows
    stack.deliver(upload_event(ref), lambda_context, import_chunk_rows=3)
    # Then no chunk message was sent and the file was applied in one piece, parents first
    assert stack.queue_bodies() == []
    job = stack.job(ref)
    assert job["status"] == "COMPLETED"
    assert job["summary"]["created"] == 5


# -- events and the Lambda entry point ------------------------------------------------------
def test_each_state_change_publishes_an_event(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored file
    ref = stack.seed_upload(users_csv(2))
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then PENDING->PROCESSING and PROCESSING->COMPLETED were published, without passwords
    events = stack.published_events()
    assert [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in events] == [
        ("PENDING", "PROCESSING"),
        ("PROCESSING", "COMPLETED"),
    ]
    assert {e["source"] for e in events} == {"rostering.imports"}
    assert {e["detail-type"] for e in events} == {"Import Job Status Changed"}
    assert all(e["detail"]["referenceId"] == ref and e["detail"]["tenant"] == TENANT_A for e in events)
    assert "Secret#123" not in json.dumps(events)


def test_lambda_handler_imports_with_settings_from_the_environment(
    stack: ImportStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the environment the stack gives the function, and a stored file
    monkeypatch.setattr(handler, "settings", stack.settings)
    wiring.importer_for.cache_clear()
    ref = stack.seed_upload(users_csv(2))
    # When the Lambda entry point receives the S3 event
    response = handler.lambda_handler(upload_event(ref), lambda_context)
    wiring.importer_for.cache_clear()
    # Then the import completed and the ImportsCompleted metric was emitted
    assert response == {"batchItemFailures": []}
    assert stack.job(ref)["status"] == "COMPLETED"
    assert '"ImportsCompleted"' in capsys.readouterr().out


def test_malformed_csv_fails_as_a_file_level_error_naming_its_line(stack: ImportStack, lambda_context: Any) -> None:
    # Given a users file whose third line has a stray quote
    ref = stack.seed_upload(b'user_username,user_name,user_password\nu1,One,Secret#123\nu2,"Tw"o,Secret#123\n')
    # When it is imported
    stack.deliver(upload_event(ref), lambda_context)
    # Then the job fails at file level (row 0), the message names line 3, and nothing is written
    job = stack.job(ref)
    [error] = job["errors"]
    assert (job["status"], error["row"], error["code"]) == ("FAILED", 0, "MALFORMED_CSV")
    assert "line 3" in error["message"]
    assert roster_users(stack) == []
