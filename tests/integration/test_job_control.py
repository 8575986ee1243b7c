"""Job control against moto: the imports list (newest first, pages, status filter, a Query of the
acceptance index) and abort (PENDING or HELD only, nothing written, racing the importer)."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.common.errors import InvalidState, MalformedRequest, NotFound
from lambdas.handlers import importer as importer_handler
from lambdas.jobs.control import JobControl, decode_token, parse_list_query
from lambdas.jobs.events import JobEvents
from lambdas.jobs.line import TenantLine
from lambdas.jobs.objects import JobFiles
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A, TENANT_B
from testkit.import_stack import ImportStack, new_reference, upload_event, users_csv


def control(stack: ImportStack) -> JobControl:
    return JobControl(
        jobs=stack.jobs,
        files=JobFiles(stack.settings.bucket_name, client=stack.s3),
        events=JobEvents(stack.settings.event_bus_name),
        line=TenantLine(stack.settings.jobs_table, resource=stack.dynamodb),
        wake=lambda tenant, reference_id: None,
    )


def listed(stack: ImportStack, tenant: str = TENANT_A, **query: str) -> tuple[list[dict[str, Any]], str | None]:
    status, limit, after = parse_list_query(query)
    page = control(stack).list_imports(tenant=tenant, status=status, limit=limit, after=after)
    return page["imports"], page["nextToken"]


def test_list_is_newest_first_even_within_one_second(stack: ImportStack) -> None:
    # Given five uploads accepted one after the other within the same second
    refs = [stack.seed_upload(users_csv(1)) for _ in range(5)]
    # When the tenant lists its imports
    imports, token = listed(stack)
    # Then they come newest first, as status results without errors and warnings, on one page
    assert [item["referenceId"] for item in imports] == refs[::-1]
    assert token is None
    assert set(imports[0]) == {
        "referenceId", "status", "fileName", "template", "dryRun", "createdAt", "startedAt", "finishedAt", "summary",
        "queuePosition",
    }  # fmt: skip


def test_list_pages_with_next_token_until_the_end(stack: ImportStack) -> None:
    # Given seven uploads
    refs = [stack.seed_upload(users_csv(1)) for _ in range(7)]
    # When they are listed three at a time, following nextToken
    seen, token, pages = [], None, 0
    while True:
        imports, token = listed(stack, limit="3", **({"nextToken": token} if token else {}))
        seen += [item["referenceId"] for item in imports]
        pages += 1
        if token is None:
            break
    # Then every job appears once, newest first, over three pages
    assert seen == refs[::-1] and pages == 3


def test_list_filters_by_status_and_fills_the_page(stack: ImportStack, lambda_context: Any) -> None:
    # Given two finished imports between pending ones
    pending_old = stack.seed_upload(users_csv(1))
    done = []
    for n in range(2):
        ref = stack.seed_upload(users_csv(1, start=10 + n))
        importer_handler.process_batch(upload_event(ref), lambda_context, stack.importer())
        done.append(ref)
    pending_new = stack.seed_upload(users_csv(1))
    # When the tenant lists COMPLETED imports, one per page
    first, token = listed(stack, status="COMPLETED", limit="1")
    second, end = listed(stack, status="COMPLETED", limit="1", nextToken=token or "")
    # Then only the completed ones come, newest first, and PENDING ones only under their status
    assert [i["referenceId"] for i in first + second] == done[::-1]
    assert [i["status"] for i in first + second] == ["COMPLETED", "COMPLETED"]
    assert [i["referenceId"] for i in listed(stack, status="PENDING")[0]] == [pending_new, pending_old]
    assert end is None


def test_list_is_tenant_scoped(stack: ImportStack) -> None:
    # Given an upload of tenant A
    stack.seed_upload(users_csv(1))
    # When tenant B lists its imports
    imports, token = listed(stack, tenant=TENANT_B)
    # Then it sees nothing
    assert imports == [] and token is None


def test_list_uses_a_query_never_a_scan(stack: ImportStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a job, and a table whose scan fails loudly
    stack.seed_upload(users_csv(1))
    table_type = type(stack.dynamodb.Table(stack.settings.jobs_table))
    monkeypatch.setattr(table_type, "scan", lambda *a, **k: pytest.fail("scan"), raising=False)
    # When listing, then it works
    assert len(listed(stack)[0]) == 1


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "-1"}, {"limit": "ten"}, {"status": "DONE"}, {"nextToken": "!!"}, {"nextToken": "e30"}],
)
def test_list_rejects_a_bad_query(query: dict[str, str]) -> None:
    # Given a query that is not a list query, when it is parsed, then it is MALFORMED_REQUEST
    with pytest.raises(MalformedRequest):
        parse_list_query(query)


def test_list_limit_is_capped_at_200_and_defaults_to_50() -> None:
    # Given no limit and a limit above the cap, when parsed, then 50 and 200
    assert parse_list_query({})[1] == 50
    assert parse_list_query({"limit": "1000"})[1] == 200


def test_a_tampered_token_cannot_reach_another_tenant(stack: ImportStack) -> None:
    # Given tenant A's token of a page
    for _ in range(3):
        stack.seed_upload(users_csv(1))
    _, token = listed(stack, limit="1")
    assert token is not None
    decode_token(token)
    # When tenant B presents it, then B still sees only its own (no) jobs
    assert listed(stack, tenant=TENANT_B, nextToken=token) == ([], None)


def test_abort_of_a_pending_job_writes_nothing(stack: ImportStack, lambda_context: Any) -> None:
    # Given a stored upload not yet imported
    ref = stack.seed_upload(users_csv(2))
    # When it is aborted
    result = control(stack).abort(tenant=TENANT_A, reference_id=ref)
    # Then it is ABORTED, its file moved to failed/, and a late import event writes nothing
    assert result["status"] == "ABORTED" and result["finishedAt"]
    assert stack.keys(f"import-csv/failed/{ref}") == [f"import-csv/failed/{ref}.csv"]
    importer_handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    assert stack.job(ref)["status"] == "ABORTED"
    roster = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    assert roster.get_many(TENANT_A, [(Entity.USER, "user001"), (Entity.USER, "user002")]) == {}
    assert [e["detail"]["status"] for e in stack.published_events()] == ["ABORTED"]


def test_abort_of_a_finished_job_is_invalid_state(stack: ImportStack, lambda_context: Any) -> None:
    # Given an imported job
    ref = stack.seed_upload(users_csv(1))
    importer_handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    # When it is aborted, then 409 INVALID_STATE and it stays COMPLETED
    with pytest.raises(InvalidState):
        control(stack).abort(tenant=TENANT_A, reference_id=ref)
    assert stack.job(ref)["status"] == "COMPLETED"


def test_abort_twice_is_invalid_state_the_second_time(stack: ImportStack) -> None:
    ref = stack.seed_upload(users_csv(1))
    control(stack).abort(tenant=TENANT_A, reference_id=ref)
    with pytest.raises(InvalidState):
        control(stack).abort(tenant=TENANT_A, reference_id=ref)


@pytest.mark.parametrize("reference_id", ["not-a-uuid", "other-tenant"])
def test_abort_of_another_tenants_or_unknown_job_is_not_found(stack: ImportStack, reference_id: str) -> None:
    # Given a job of tenant A
    ref = stack.seed_upload(users_csv(1))
    target = ref if reference_id == "other-tenant" else reference_id
    # When tenant B aborts it (or an unknown id), then NOT_FOUND and A's job is untouched
    with pytest.raises(NotFound):
        control(stack).abort(tenant=TENANT_B, reference_id=target)
    assert stack.job(ref)["status"] == "PENDING"
    with pytest.raises(NotFound):
        control(stack).abort(tenant=TENANT_A, reference_id=new_reference())
