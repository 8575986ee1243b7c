"""Every job ends, against moto: values the store cannot hold fail their row alone
(VALUE_TOO_LONG), a header over 200 columns fails the file, and a message that failed after every
retry is picked up from the DLQ and its job ends FAILED / IMPORT_FAILED."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from lambdas.common.config import CHUNKS_PREFIX, FAILED_PREFIX, PENDING_PREFIX, RESULTS_PREFIX
from lambdas.handlers import deadletter
from lambdas.importer.messages import ChunkReady
from lambdas.jobs.line import TenantLine
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A
from testkit.import_stack import ImportStack, s3_put_body, sqs_event, upload_event, users_csv


def groups_file(bad_row: str, *, header: str, good: int = 20) -> bytes:
    """``good`` valid groups (blank extra cells) with the bad row in the middle (row 12)."""
    rows = [f"group{n:02d},Group {n}" + "," * (header.count(",") - 1) for n in range(good)]
    rows.insert(good // 2, bad_row)
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def stored_groups(stack: ImportStack) -> list[str]:
    store = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    return sorted(str(item["sk"]) for item in store.query_all(TENANT_A, Entity.GROUP))


# -- VALUE_TOO_LONG -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "bad_row", "column"),
    [
        ("group_name,group_description", "g" * 1100 + ",too long a key", "group_name"),
        ("group_name,group_description", "long-description," + "d" * 4097, "group_description"),
        (
            "group_name,group_description," + ",".join(f"group_metadata_m{n}" for n in range(4)),
            "big-row,x," + ",".join(["m" * 120_000] * 4),
            "group_metadata_m0",
        ),
        (
            "group_name,group_description," + ",".join(f"group_metadata_m{n}" for n in range(110)),
            "huge-row,x," + ",".join(["m" * 4000] * 110),
            None,
        ),
    ],
    ids=["key-1100", "cell-4097", "cells-4x120k", "row-over-400kb"],
)
def test_a_value_the_store_cannot_hold_fails_its_row_alone(
    stack: ImportStack, lambda_context: Any, header: str, bad_row: str, column: str | None
) -> None:
    # Given a groups file of 20 valid rows and one whose values do not fit one record
    content = groups_file(bad_row, header=header)
    ref = stack.seed_upload(content, file_name="groups.csv")
    # When it is imported
    assert stack.deliver(upload_event(ref), lambda_context) == []
    # Then the job ends with that row failed VALUE_TOO_LONG and the 20 others created
    job = stack.job(ref)
    assert job["status"] == "COMPLETED_WITH_ERRORS"
    assert job["summary"] == {"rows": 21, "created": 20, "updated": 0, "unchanged": 0, "failed": 1, "warnings": 0}
    assert [(e["row"], e["code"], e["column"]) for e in job["errors"]] == [(12, "VALUE_TOO_LONG", column)]
    assert stored_groups(stack) == [f"group{n:02d}" for n in range(20)]


@pytest.mark.parametrize(("columns", "status"), [(200, "COMPLETED"), (201, "FAILED"), (9000, "FAILED")])
def test_a_header_over_200_columns_fails_the_file_with_nothing_written(
    stack: ImportStack, lambda_context: Any, columns: int, status: str
) -> None:
    # Given a groups header padded with unknown columns up to ``columns``
    extra = [f"extra_{n}" for n in range(columns - 2)]
    header = ",".join(["group_name", "group_description", *extra])
    content = f"{header}\r\nmaths,Maths{',' * len(extra)}\r\n".encode()
    ref = stack.seed_upload(content, file_name="groups.csv")
    # When it is imported
    assert stack.deliver(upload_event(ref), lambda_context) == []
    # Then up to 200 columns import; more is a file error (row 1) and nothing is written
    job = stack.job(ref)
    assert job["status"] == status
    if status == "FAILED":
        assert [(e["row"], e["code"]) for e in job["errors"]] == [(1, "TOO_MANY_COLUMNS")]
        assert stored_groups(stack) == []
        assert stack.keys(f"{FAILED_PREFIX}{ref}.csv")
    else:
        assert stored_groups(stack) == ["maths"]


# -- the dead-letter consumer -------------------------------------------------------------------
def abandon(stack: ImportStack, body: str, lambda_context: Any) -> list[str]:
    response = deadletter.process_batch(sqs_event([body]), lambda_context, stack.importer())
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_dead_letter_of_a_fanned_out_chunk_ends_the_job_failed_and_removes_its_chunks(
    stack: ImportStack, lambda_context: Any
) -> None:
    # Given a fanned-out import whose first chunk was recorded and whose second keeps failing
    ref = stack.seed_upload(users_csv(4))
    assert stack.deliver(upload_event(ref), lambda_context, import_chunk_rows=2) == []
    chunk_bodies = stack.queue_bodies()
    assert stack.deliver(sqs_event(chunk_bodies[:1]), lambda_context, import_chunk_rows=2) == []
    assert stack.job(ref)["status"] == "PROCESSING"
    assert stack.keys(f"{CHUNKS_PREFIX}{ref}/")
    # When the failing chunk's message arrives on the DLQ
    assert abandon(stack, chunk_bodies[1], lambda_context) == []
    # Then the job is FAILED with IMPORT_FAILED, the recorded rows are reported, nothing is left over
    job = stack.job(ref)
    assert job["status"] == "FAILED"
    assert job["errors"][0]["code"] == "IMPORT_FAILED" and job["errors"][0]["row"] == 0
    assert job["summary"]["created"] == 2
    assert stack.keys(f"{CHUNKS_PREFIX}{ref}/") == []
    assert stack.keys(f"{PENDING_PREFIX}{ref}.csv") == [] and stack.keys(f"{FAILED_PREFIX}{ref}.csv")
    report = list(csv.reader(io.StringIO(stack.text(f"{RESULTS_PREFIX}{ref}.csv"))))
    assert report[1][:4] == ["0", "", "failed", "IMPORT_FAILED"]
    assert [line[2] for line in report[2:]] == ["created", "created"]
    # And a late delivery of the other chunk changes nothing
    assert stack.deliver(sqs_event(chunk_bodies[1:]), lambda_context, import_chunk_rows=2) == []
    assert stack.job(ref)["summary"]["created"] == 2


def test_dead_letter_of_a_stuck_upload_fails_it_and_wakes_the_next_job(stack: ImportStack, lambda_context: Any) -> None:
    # Given a head whose attempt died while running, and a job waiting behind it
    line = TenantLine(stack.settings.jobs_table, resource=stack.dynamodb)
    head = stack.seed_upload(users_csv(2))
    line.enter(tenant=TENANT_A, reference_id=head)
    waiting = stack.seed_upload(users_csv(2, start=50))
    line.enter(tenant=TENANT_A, reference_id=waiting)
    assert stack.jobs.claim(tenant=TENANT_A, reference_id=head, attempt="dead", now=10**10, lease_seconds=60)
    # When the head's S3 event arrives on the DLQ
    assert abandon(stack, s3_put_body(f"{PENDING_PREFIX}{head}.csv"), lambda_context) == []
    # Then it is FAILED, out of the line, and the job behind it is woken and runs
    assert stack.job(head)["status"] == "FAILED"
    bodies = stack.queue_bodies()
    assert [json.loads(b)["referenceId"] for b in bodies] == [waiting]
    assert stack.deliver(sqs_event(bodies), lambda_context) == []
    assert stack.job(waiting)["status"] == "COMPLETED"


def test_dead_letter_of_a_finished_job_changes_nothing(stack: ImportStack, lambda_context: Any) -> None:
    # Given a completed import
    ref = stack.seed_upload(users_csv(2))
    assert stack.deliver(upload_event(ref), lambda_context) == []
    before = stack.job(ref)
    # When a duplicate of its message reaches the DLQ, and a message for an unknown chunk too
    assert abandon(stack, s3_put_body(f"{PENDING_PREFIX}{ref}.csv"), lambda_context) == []
    assert abandon(stack, ChunkReady(TENANT_A, ref, 7).body(), lambda_context) == []
    assert abandon(stack, "not json", lambda_context) == []
    # Then the job is as it was
    assert stack.job(ref) == before
