"""The change hold against moto: an import that would update more than its threshold's share of
the tenant's records stops HELD with nothing written; approve applies it against the roster as
it is then, discard and the 72-hour expiry end it DISCARDED; races between them have one winner."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest

from lambdas.common.config import Settings
from lambdas.common.errors import InvalidState, NotFound
from lambdas.handlers import importer as importer_handler
from lambdas.importer import messages
from lambdas.jobs.control import JobControl
from lambdas.jobs.events import JobEvents
from lambdas.jobs.hold import HOLD_SECONDS
from lambdas.jobs.line import TenantLine
from lambdas.jobs.objects import JobFiles
from lambdas.jobs.store import JobStore
from lambdas.roster.apply import apply_rows
from lambdas.roster.store import Entity, RosterStore
from lambdas.tenants.settings import TenantSettings
from testkit.apigw import TENANT_A, TENANT_B
from testkit.import_stack import ImportStack, build_import_stack, sqs_event, upload_event
from tests.roster_fixtures import FAST_HASHER, planned


def groups_csv(count: int, description: str) -> bytes:
    lines = ["group_name,group_description"] + [f"group{n:03d},{description} {n}" for n in range(count)]
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def stack(resources: dict[str, Any], settings: Settings) -> ImportStack:
    stack = build_import_stack(resources, settings)
    imported(stack, groups_csv(40, "first"))
    stack.published_events()
    return stack


def imported(stack: ImportStack, content: bytes, lambda_context: Any = None, **seed: Any) -> str:
    ref = stack.seed_upload(content, **seed)
    run(stack, ref)
    return ref


def run(stack: ImportStack, ref: str, clock: Any = None) -> None:
    importer = stack.importer(clock=clock) if clock else stack.importer()
    importer_handler.process_batch(upload_event(ref), None, importer)  # type: ignore[arg-type]


def control(stack: ImportStack, clock: Any = None) -> JobControl:
    options: dict[str, Any] = {"clock": clock} if clock else {}
    return JobControl(
        jobs=stack.jobs,
        files=JobFiles(stack.settings.bucket_name, client=stack.s3),
        events=JobEvents(stack.settings.event_bus_name),
        line=TenantLine(stack.settings.jobs_table, resource=stack.dynamodb),
        wake=lambda tenant, ref: run(stack, ref),
        **options,
    )


def descriptions(stack: ImportStack) -> set[str]:
    roster = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    items = roster.get_many(TENANT_A, [(Entity.GROUP, f"group{n:03d}") for n in range(40)])
    return {str(item.get("group_description", item.get("description", ""))).split()[0] for item in items.values()}


def held(stack: ImportStack, threshold: str = "25") -> str:
    return imported(stack, groups_csv(40, "second"), change_threshold=Decimal(threshold))


def test_an_update_of_every_group_over_the_threshold_stops_held(stack: ImportStack) -> None:
    # Given 40 groups, when a file updating all 40 comes with changeThreshold=25
    ref = held(stack)
    # Then the job is HELD with the planned counts, the roster is unchanged
    job = stack.job(ref)
    assert job["status"] == "HELD" and job["template"] == "groups"
    assert {k: int(v) for k, v in job["summary"].items()}["updated"] == 40
    assert descriptions(stack) == {"first"}
    # And the report holds the planned outcome of every row, the file stays pending
    report = stack.text(f"import-csv/results/{ref}.csv").splitlines()
    assert len(report) == 41 and all(",updated," in line for line in report[1:])
    assert stack.keys(f"import-csv/pending/{ref}") == [f"import-csv/pending/{ref}.csv"]
    assert [e["detail"]["status"] for e in stack.published_events()] == ["PROCESSING", "HELD"]


def test_within_the_threshold_the_import_applies_at_once(stack: ImportStack) -> None:
    ref = held(stack, threshold="100")
    assert stack.job(ref)["status"] == "COMPLETED" and descriptions(stack) == {"second"}


def test_the_tenant_default_applies_when_the_upload_has_none(stack: ImportStack) -> None:
    TenantSettings(stack.settings.tenants_table).set_change_threshold(TENANT_A, Decimal(10))
    ref = imported(stack, groups_csv(40, "second"))
    assert stack.job(ref)["status"] == "HELD"


def test_a_job_rebuilt_from_its_upload_keeps_the_uploads_threshold(stack: ImportStack) -> None:
    # Given an upload with changeThreshold 25 whose job record is missing (the tenant has no default)
    ref = stack.seed_upload(groups_csv(40, "second"), change_threshold=Decimal(25), with_job=False)
    # When its S3 event arrives and the importer rebuilds the job from the object's metadata
    run(stack, ref)
    # Then the rebuilt job has the upload's threshold and stops HELD: nothing written
    job = stack.job(ref)
    assert job["changeThreshold"] == Decimal(25)
    assert job["status"] == "HELD" and descriptions(stack) == {"first"}


def test_fewer_than_ten_existing_records_never_hold(resources: dict[str, Any], settings: Settings) -> None:
    stack = build_import_stack(resources, settings)
    imported(stack, groups_csv(9, "first"))
    ref = imported(stack, groups_csv(9, "second"), change_threshold=Decimal(0))
    assert stack.job(ref)["status"] == "COMPLETED"


def test_a_dry_run_is_never_held(stack: ImportStack) -> None:
    ref = imported(stack, groups_csv(40, "second"), change_threshold=Decimal(0), dry_run=True)
    assert stack.job(ref)["status"] == "COMPLETED"


def test_approve_applies_the_held_file(stack: ImportStack) -> None:
    ref = held(stack)
    result = control(stack).approve(tenant=TENANT_A, reference_id=ref)
    assert result["status"] == "PENDING"
    job = stack.job(ref)
    assert job["status"] == "COMPLETED" and int(job["summary"]["updated"]) == 40
    assert descriptions(stack) == {"second"}


def test_approve_plans_again_against_the_roster_as_it_is_now(stack: ImportStack) -> None:
    # Given a held update, and meanwhile the same change written to the roster by other means
    # (an import of this tenant would wait behind the held one: it keeps the tenant's turn)
    ref = held(stack)
    template, rows = planned(groups_csv(40, "second").decode())
    roster = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    apply_rows(template, rows, tenant=TENANT_A, store=roster, dry_run=False, hasher=FAST_HASHER)
    # When the held one is approved, then its rows are unchanged, not updated
    control(stack).approve(tenant=TENANT_A, reference_id=ref)
    summary = {k: int(v) for k, v in stack.job(ref)["summary"].items()}
    assert stack.job(ref)["status"] == "COMPLETED" and summary["unchanged"] == 40 and summary["updated"] == 0


def test_a_later_import_waits_behind_the_held_one_and_runs_once_it_is_discarded(stack: ImportStack) -> None:
    # Given a held update, then another upload of the tenant
    ref = held(stack)
    later = imported(stack, groups_csv(40, "third"))
    # Then the later one waits, PENDING, behind the held one
    assert stack.job(later)["status"] == "PENDING"
    # When the held one is discarded, the later one is woken and runs
    control(stack).discard(tenant=TENANT_A, reference_id=ref)
    for body in stack.queue_bodies():
        importer_handler.process_batch(sqs_event([body]), None, stack.importer())  # type: ignore[arg-type]
    assert stack.job(later)["status"] == "COMPLETED" and descriptions(stack) == {"third"}


def test_approve_twice_is_invalid_state_the_second_time(stack: ImportStack) -> None:
    ref = held(stack)
    control(stack).approve(tenant=TENANT_A, reference_id=ref)
    with pytest.raises(InvalidState):
        control(stack).approve(tenant=TENANT_A, reference_id=ref)


def test_discard_leaves_the_roster_as_it_was(stack: ImportStack) -> None:
    ref = held(stack)
    result = control(stack).discard(tenant=TENANT_A, reference_id=ref)
    assert result["status"] == "DISCARDED" and descriptions(stack) == {"first"}
    assert stack.keys(f"import-csv/failed/{ref}") == [f"import-csv/failed/{ref}.csv"]
    run(stack, ref)  # a late event changes nothing
    assert stack.job(ref)["status"] == "DISCARDED" and descriptions(stack) == {"first"}
    with pytest.raises(InvalidState):
        control(stack).approve(tenant=TENANT_A, reference_id=ref)


def test_approve_after_the_72_hours_is_invalid_state_and_the_job_discarded(stack: ImportStack) -> None:
    ref = held(stack)
    later = control(stack, clock=lambda: time.time() + HOLD_SECONDS + 1)
    with pytest.raises(InvalidState, match="DISCARDED"):
        later.approve(tenant=TENANT_A, reference_id=ref)
    assert stack.job(ref)["status"] == "DISCARDED" and descriptions(stack) == {"first"}


def interleaved(stack: ImportStack, method: str, competitor: Any) -> JobStore:
    """A jobs store whose ``method`` lets ``competitor`` run between the caller's read of the job
    and its conditional write: the interleaving a race produces (moto's conditional writes are
    not atomic across threads, DynamoDB's are; the condition is what must decide)."""
    jobs = stack.jobs
    write = getattr(jobs, method)

    def raced(**kwargs: Any) -> Any:
        competitor()
        return write(**kwargs)

    setattr(jobs, method, raced)
    return jobs


@pytest.mark.parametrize(("first", "second"), [("approve", "discard"), ("discard", "approve"), ("abort", "approve")])
def test_two_actions_racing_on_a_held_job_have_one_winner(stack: ImportStack, first: str, second: str) -> None:
    # Given a held job, and the second action's write landing after the first action's
    ref = held(stack)
    winner = quiet(stack, stack.jobs)
    loser = quiet(stack, interleaved(stack, second, lambda: getattr(winner, first)(tenant=TENANT_A, reference_id=ref)))
    # When the second action runs (it read HELD before the first one wrote), then it is 409
    with pytest.raises(InvalidState):
        getattr(loser, second)(tenant=TENANT_A, reference_id=ref)
    assert stack.job(ref)["status"] == {"approve": "PENDING", "discard": "DISCARDED", "abort": "ABORTED"}[first]


def quiet(stack: ImportStack, jobs: JobStore) -> JobControl:
    return JobControl(
        jobs=jobs,
        files=JobFiles(stack.settings.bucket_name, client=stack.s3),
        events=JobEvents(stack.settings.event_bus_name),
        line=TenantLine(stack.settings.jobs_table, resource=stack.dynamodb),
        wake=lambda tenant, reference: None,
    )


def test_abort_of_a_held_job_writes_nothing(stack: ImportStack) -> None:
    ref = held(stack)
    assert control(stack).abort(tenant=TENANT_A, reference_id=ref)["status"] == "ABORTED"
    assert descriptions(stack) == {"first"}


@pytest.mark.parametrize("action", ["approve", "discard", "abort"])
def test_another_tenants_held_job_is_not_found(stack: ImportStack, action: str) -> None:
    ref = held(stack)
    with pytest.raises(NotFound):
        getattr(control(stack), action)(tenant=TENANT_B, reference_id=ref)
    assert stack.job(ref)["status"] == "HELD"


@pytest.mark.parametrize("action", ["approve", "discard"])
def test_approve_or_discard_of_a_job_that_is_not_held_is_invalid_state(stack: ImportStack, action: str) -> None:
    ref = imported(stack, groups_csv(1, "x"))
    with pytest.raises(InvalidState):
        getattr(control(stack), action)(tenant=TENANT_A, reference_id=ref)


@pytest.fixture
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold checks arrive at once (SQS would hold each up to 15 minutes): the chain's logic only."""
    monkeypatch.setattr(messages, "MAX_DELAY_SECONDS", 0)


def test_a_hold_check_waits_as_long_as_sqs_allows(stack: ImportStack) -> None:
    held(stack)
    assert hold_messages(stack) == []  # delayed: not receivable yet
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.settings.import_queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    assert int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"]) == 1


def hold_messages(stack: ImportStack) -> list[dict[str, Any]]:
    return [json.loads(body) for body in stack.queue_bodies() if json.loads(body).get("type") == "hold"]


def deliver(stack: ImportStack, message: dict[str, Any], clock: Any) -> None:
    event = sqs_event([json.dumps(message)])
    importer_handler.process_batch(event, None, stack.importer(clock=clock))  # type: ignore[arg-type]


@pytest.mark.usefixtures("no_delay")
def test_a_hold_nobody_answers_ends_discarded_by_its_own_check_chain(stack: ImportStack) -> None:
    # Given a held job: it scheduled a check of itself
    ref = held(stack)
    stack.published_events()
    (first,) = hold_messages(stack)
    assert first["referenceId"] == ref
    # When the check comes before the 72 hours are over, the chain goes on with a new token
    deliver(stack, first, clock=lambda: time.time() + 3600)
    (second,) = hold_messages(stack)
    assert second["check"] != first["check"] and stack.job(ref)["status"] == "HELD"
    # And a duplicate of the old message is dropped (one live chain)
    deliver(stack, first, clock=lambda: time.time() + 3600)
    assert hold_messages(stack) == []
    # When the check comes after the 72 hours, the job ends DISCARDED with its event, nothing written
    deliver(stack, second, clock=lambda: time.time() + HOLD_SECONDS + 60)
    assert stack.job(ref)["status"] == "DISCARDED" and descriptions(stack) == {"first"}
    assert [e["detail"]["status"] for e in stack.published_events()] == ["DISCARDED"]
    assert hold_messages(stack) == []


@pytest.mark.usefixtures("no_delay")
def test_the_check_chain_stops_once_the_hold_is_answered(stack: ImportStack) -> None:
    ref = held(stack)
    (first,) = hold_messages(stack)
    control(stack).discard(tenant=TENANT_A, reference_id=ref)
    deliver(stack, first, clock=lambda: time.time() + HOLD_SECONDS + 60)
    assert hold_messages(stack) == [] and stack.job(ref)["status"] == "DISCARDED"
