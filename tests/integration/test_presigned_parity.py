"""A file sent by presigned POST never passes the upload route: the importer runs the route's own
content checks on it (``lambdas.intake.content``), so what the route answers 413/415 ends
``FAILED`` with that code at row 0, and nothing of it is imported."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.common.config import FAILED_PREFIX, PENDING_PREFIX
from lambdas.common.errors import ApiError
from lambdas.handlers import importer as handler
from lambdas.intake.content import check_csv_content
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A
from testkit.import_stack import USERS_HEADER, ImportStack, upload_event, users_csv

GOOD = users_csv(2)
REFUSED = {
    "NUL byte": (f"{USERS_HEADER}\r\nnul\x00group,N,Secret#123\r\n".encode(), "INVALID_FILE_TYPE"),
    "PNG magic": (b"\x89PNG\r\n\x1a\n" + GOOD, "INVALID_FILE_TYPE"),
    "ZIP (xlsx) magic": (b"PK\x03\x04" + GOOD, "INVALID_FILE_TYPE"),
    "gzip magic": (b"\x1f\x8b\x08\x00" + GOOD, "INVALID_FILE_TYPE"),
    "not UTF-8": (f"{USERS_HEADER}\r\nl\u00e9a,L,Secret#123\r\n".encode("latin-1"), "INVALID_FILE_TYPE"),
    "header cut by a quote": (b'user_username,"user_name\r\n', "INVALID_FILE_TYPE"),
}


def import_presigned(stack: ImportStack, content: bytes, lambda_context: Any, **settings: Any) -> str:
    ref = stack.seed_upload(content, source="presigned")
    response = handler.process_batch(upload_event(ref), lambda_context, stack.importer(**settings))
    assert response["batchItemFailures"] == []
    return ref


def roster(stack: ImportStack) -> list[dict[str, Any]]:
    store = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    return store.query_all(TENANT_A, Entity.USER) + store.query_all(TENANT_A, Entity.GROUP)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_presigned_file_the_upload_route_refuses_ends_failed_with_its_code(
    stack: ImportStack, lambda_context: Any, case: str
) -> None:
    # Given a file the direct route answers 415, arriving by presigned POST
    content, code = REFUSED[case]
    with pytest.raises(ApiError) as direct:
        check_csv_content(content)
    assert direct.value.code == code
    # When the importer takes it
    ref = import_presigned(stack, content, lambda_context)
    # Then the job is FAILED with the route's code and message at row 0, nothing is imported,
    # and the file is moved to failed/
    job = stack.job(ref)
    assert job["status"] == "FAILED"
    assert job["errors"] == [{"row": 0, "column": None, "code": code, "message": direct.value.message}]
    assert roster(stack) == []
    assert stack.keys(PENDING_PREFIX) == [] and stack.keys(FAILED_PREFIX) == [f"{FAILED_PREFIX}{ref}.csv"]


def test_presigned_file_over_the_limit_ends_failed_file_too_large(stack: ImportStack, lambda_context: Any) -> None:
    # Given a presigned file one byte over MAX_UPLOAD_BYTES (a POST policy moto does not enforce)
    # When the importer takes it
    ref = import_presigned(stack, GOOD, lambda_context, max_upload_bytes=len(GOOD) - 1)
    # Then FAILED with FILE_TOO_LARGE at row 0, the route's message
    job = stack.job(ref)
    assert job["status"] == "FAILED"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(0, "FILE_TOO_LARGE")]
    assert job["errors"][0]["message"].startswith(f"The CSV file is larger than {len(GOOD) - 1} bytes")


def test_presigned_file_that_passes_the_checks_is_imported(stack: ImportStack, lambda_context: Any) -> None:
    # Given a good CSV exactly at the limit, arriving by presigned POST
    # When the importer takes it
    ref = import_presigned(stack, GOOD, lambda_context, max_upload_bytes=len(GOOD))
    # Then it is imported as any upload
    job = stack.job(ref)
    assert (job["status"], job["summary"]["created"]) == ("COMPLETED", 2)


def test_direct_upload_is_not_read_twice(stack: ImportStack, lambda_context: Any) -> None:
    # Given a direct upload (already checked by the route) of a Latin-1 file the route would refuse
    content = REFUSED["not UTF-8"][0]
    ref = stack.seed_upload(content, source="direct")
    # When the importer takes it
    handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    # Then the importer's own reading decides (INVALID_ENCODING), not a second content check
    assert [e["code"] for e in stack.job(ref)["errors"]] == ["INVALID_ENCODING"]
