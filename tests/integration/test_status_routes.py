"""The status Lambda on real HTTP API v2 events against moto: status and download of a
tenant's job (and the documented aliases), NOT_FOUND across tenants, REPORT_NOT_READY, a
fetchable signed report URL, and the lazy expiry of uploads that never arrived."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lambdas.common.config import Settings
from lambdas.handlers import importer as importer_handler
from lambdas.handlers import status as handler
from testkit.apigw import TENANT_B, response_json
from testkit.import_stack import (
    ImportStack,
    build_import_stack,
    new_reference,
    status_event,
    upload_event,
    users_csv,
)

STATUS = "/api/v1/status/{referenceId}"
DOWNLOAD = "/api/v1/download/{referenceId}"
STATUS_ALIAS = "/api/v1/upload/api/v1/status/{referenceId}"
DOWNLOAD_ALIAS = "/api/v1/upload/api/v1/download/{referenceId}"


@pytest.fixture
def routes(resources: dict[str, Any], settings: Settings) -> Iterator[ImportStack]:
    """The import stack, and the status Lambda as deployed: dependencies built from the
    environment (whose defaults are the stack's resource names), rebuilt for every test."""
    handler.queries.cache_clear()
    yield build_import_stack(resources, settings)
    handler.queries.cache_clear()


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, Any]:
    response = handler.lambda_handler(event, lambda_context)
    return response["statusCode"], response_json(response)


def imported(stack: ImportStack, lambda_context: Any, content: bytes) -> str:
    ref = stack.seed_upload(content)
    importer_handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    return ref


def test_status_of_a_pending_job_has_nulls_for_what_does_not_exist_yet(
    routes: ImportStack, lambda_context: Any
) -> None:
    # Given a job whose file is stored but not yet imported
    ref = routes.seed_upload(users_csv(1), file_name="users.csv")
    # When its status is read
    status, body = call(status_event(STATUS, ref), lambda_context)
    # Then it is PENDING with nulls for template, start, end, summary, errors and warnings
    assert status == 200
    result = body["result"]
    assert result["referenceId"] == ref and result["status"] == "PENDING" and result["fileName"] == "users.csv"
    assert result["dryRun"] is False and result["createdAt"].endswith("Z")
    assert {
        k: result[k] for k in ("template", "startedAt", "finishedAt", "summary", "errors", "warnings")
    } == dict.fromkeys(("template", "startedAt", "finishedAt", "summary", "errors", "warnings"))


def test_status_of_a_finished_job_has_summary_and_errors(routes: ImportStack, lambda_context: Any) -> None:
    # Given an imported file with one failing row
    ref = imported(routes, lambda_context, users_csv(2, weak=[2]))
    # When its status is read
    status, body = call(status_event(STATUS, ref), lambda_context)
    # Then it shows the terminal state, template, summary and the row's error
    result = body["result"]
    assert status == 200
    assert result["status"] == "COMPLETED_WITH_ERRORS" and result["template"] == "users"
    assert result["summary"] == {"rows": 2, "created": 1, "updated": 0, "unchanged": 0, "failed": 1, "warnings": 0}
    assert [(e["row"], e["column"], e["code"]) for e in result["errors"]] == [(3, "user_password", "WEAK_PASSWORD")]
    assert result["warnings"] == [] and result["startedAt"] and result["finishedAt"]


def test_status_alias_answers_like_the_route(routes: ImportStack, lambda_context: Any) -> None:
    # Given a stored upload
    ref = routes.seed_upload(users_csv(1))
    # When its status is read through the documented alias
    status, body = call(status_event(STATUS_ALIAS, ref), lambda_context)
    # Then the answer is the route's
    assert (status, body) == call(status_event(STATUS, ref), lambda_context)
    assert body["result"]["referenceId"] == ref


def test_another_tenants_job_is_not_found(routes: ImportStack, lambda_context: Any) -> None:
    # Given a job of tenant A
    ref = routes.seed_upload(users_csv(1))
    # When tenant B reads its status
    status, body = call(status_event(STATUS, ref, tenant=TENANT_B), lambda_context)
    # Then it does not exist for B
    assert status == 404 and body["code"] == "NOT_FOUND"


def test_unknown_reference_is_not_found(routes: ImportStack, lambda_context: Any) -> None:
    # Given no job at all
    # When a well-formed but unknown reference is read
    status, body = call(status_event(STATUS, new_reference()), lambda_context)
    # Then it is NOT_FOUND
    assert status == 404 and body["code"] == "NOT_FOUND"


def test_malformed_reference_is_not_found(routes: ImportStack, lambda_context: Any) -> None:
    # Given a reference that is not a lowercase UUID
    # When it is read
    status, body = call(status_event(STATUS, "not-a-uuid"), lambda_context)
    # Then it is NOT_FOUND, as an unknown one
    assert status == 404 and body["code"] == "NOT_FOUND"


def test_token_without_a_route_scope_is_forbidden(routes: ImportStack, lambda_context: Any) -> None:
    # Given a job and a token with an unrelated scope
    ref = routes.seed_upload(users_csv(1))
    # When the status is read with it
    status, body = call(status_event(STATUS, ref, scopes=("rostering/other",)), lambda_context)
    # Then it is the authorizer's 403 answer
    assert status == 403 and body == {"message": "Forbidden"}


def test_read_scope_alone_is_enough(routes: ImportStack, lambda_context: Any) -> None:
    # Given a job and a token with only the read scope
    ref = routes.seed_upload(users_csv(1))
    # When the status is read with it
    status, _ = call(status_event(STATUS, ref, scopes=("rostering/read",)), lambda_context)
    # Then it is answered
    assert status == 200


def test_download_before_the_job_finished_is_report_not_ready(routes: ImportStack, lambda_context: Any) -> None:
    # Given a job not yet imported
    ref = routes.seed_upload(users_csv(1))
    # When its report is requested
    status, body = call(status_event(DOWNLOAD, ref), lambda_context)
    # Then it is 409 REPORT_NOT_READY
    assert status == 409 and body["code"] == "REPORT_NOT_READY"


def test_download_gives_a_signed_url_serving_the_report(routes: ImportStack, lambda_context: Any) -> None:
    # Given an imported file
    ref = imported(routes, lambda_context, users_csv(2))
    # When its report is requested
    status, body = call(status_event(DOWNLOAD, ref), lambda_context)
    # Then the signed URL serves the report as an attachment named after the reference
    assert status == 200
    result = body["result"]
    assert result["referenceId"] == ref and result["expiresIn"] == 300
    fetched = requests.get(result["url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.text.splitlines()[0] == "row,key,outcome,code,column,message"
    assert f'filename="{ref}-result.csv"' in fetched.headers["content-disposition"]
    assert fetched.headers["content-disposition"].startswith("attachment")


def test_download_alias_answers_like_the_route(routes: ImportStack, lambda_context: Any) -> None:
    # Given an imported file
    ref = imported(routes, lambda_context, users_csv(1))
    # When its report is requested through the documented alias
    status, body = call(status_event(DOWNLOAD_ALIAS, ref), lambda_context)
    # Then it is answered with a URL
    assert status == 200 and body["result"]["url"].startswith("http")


def test_download_of_another_tenants_report_is_not_found(routes: ImportStack, lambda_context: Any) -> None:
    # Given tenant A's imported file
    ref = imported(routes, lambda_context, users_csv(1))
    # When tenant B requests the report
    status, body = call(status_event(DOWNLOAD, ref, tenant=TENANT_B), lambda_context)
    # Then it is NOT_FOUND
    assert status == 404 and body["code"] == "NOT_FOUND"


def test_pending_job_past_its_deadline_without_a_file_reads_failed(routes: ImportStack, lambda_context: Any) -> None:
    # Given a presigned-upload job whose deadline passed and whose file never arrived
    ref = new_reference()
    routes.jobs.create_pending(
        tenant="tenant-a-client",
        reference_id=ref,
        file_name="big.csv",
        dry_run=False,
        upload_deadline=int(time.time()) - 1,
        source="presigned",
    )
    # When its status is read
    status, body = call(status_event(STATUS, ref), lambda_context)
    # Then it reads FAILED / UPLOAD_NOT_RECEIVED, is stored so, and the change was published
    assert status == 200
    assert body["result"]["status"] == "FAILED" and body["result"]["finishedAt"]
    assert [(e["row"], e["code"]) for e in body["result"]["errors"]] == [(0, "UPLOAD_NOT_RECEIVED")]
    assert routes.job(ref)["status"] == "FAILED"
    assert [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in routes.published_events()] == [
        ("PENDING", "FAILED")
    ]


def test_pending_job_past_its_deadline_with_its_file_stays_pending(routes: ImportStack, lambda_context: Any) -> None:
    # Given a job past its deadline whose file is stored (the import has not picked it up yet)
    ref = routes.seed_upload(users_csv(1), upload_deadline=int(time.time()) - 1)
    # When its status is read
    status, body = call(status_event(STATUS, ref), lambda_context)
    # Then it is still PENDING
    assert status == 200 and body["result"]["status"] == "PENDING"
