"""One tenant's imports apply one at a time, in acceptance order (the tenant's line), against
moto: the importer on real SQS events and the messages it sends itself (wake-ups, re-checks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from lambdas.common.config import Settings
from lambdas.jobs.line import ENTRY_PREFIX, LINE_SK, TenantLine
from lambdas.jobs.queries import JobQueries
from lambdas.jobs.store import PK, SK
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A, TENANT_B
from testkit.import_stack import ImportStack, build_import_stack, sqs_event, upload_event, users_csv

GROUPS = b"group_name,group_description\r\nmaths,Maths\r\nart,Art\r\nchess,Chess\r\n"


def links(users: int, groups: tuple[str, ...] = ("maths", "art", "chess")) -> bytes:
    lines = ["user_username,group_name,group_role"]
    lines += [f"user{n:03d},{groups[n % len(groups)]},TEST_TAKER" for n in range(1, users + 1)]
    return ("\r\n".join(lines) + "\r\n").encode()


def line_of(stack: ImportStack) -> TenantLine:
    return TenantLine(stack.settings.jobs_table, resource=stack.dynamodb)


def accept(stack: ImportStack, content: bytes, **options: Any) -> str:
    """What the upload route does: the job, the object, then the place in the line."""
    tenant = options.get("tenant", TENANT_A)
    ref = stack.seed_upload(content, **options)
    assert line_of(stack).enter(tenant=tenant, reference_id=ref) is not None
    return ref


def deliver_queue(stack: ImportStack, lambda_context: Any, *, rounds: int = 20, **options: Any) -> list[str]:
    """Deliver what the importer sent itself (wake-ups, chunks; delayed re-checks are not due)
    until the queue is empty; the bodies delivered."""
    delivered: list[str] = []
    for _ in range(rounds):
        bodies = stack.queue_bodies()
        if not bodies:
            return delivered
        delivered += bodies
        for body in bodies:
            assert stack.deliver(sqs_event([body]), lambda_context, **options) == []
    raise AssertionError("the queue never emptied")


def status(stack: ImportStack, ref: str, tenant: str = TENANT_A) -> dict[str, Any]:
    queries = JobQueries(
        jobs=stack.jobs,
        files=None,  # type: ignore[arg-type]  # not touched for a job that has its file
        events=None,  # type: ignore[arg-type]
        line=line_of(stack),
        download_expiry_seconds=60,
    )
    return queries.status(tenant=tenant, reference_id=ref)


# -- order ------------------------------------------------------------------------------------
def test_three_file_push_applies_in_upload_order_even_when_events_arrive_reversed(
    stack: ImportStack, lambda_context: Any
) -> None:
    # Given users, groups and links accepted in that order
    users, groups, memberships = accept(stack, users_csv(30)), accept(stack, GROUPS), accept(stack, links(30))
    # When the S3 events arrive in the reverse order, then the importer's own messages
    for ref in (memberships, groups, users):
        assert stack.deliver(upload_event(ref), lambda_context) == []
    deliver_queue(stack, lambda_context)
    # Then every file completed, and the links saw the users and the groups
    for ref in (users, groups, memberships):
        assert stack.job(ref)["status"] == "COMPLETED", stack.job(ref).get("errors")
    assert stack.job(memberships)["summary"]["created"] == 30
    roster = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    assert len(roster.query_all(TENANT_A, Entity.MEMBERSHIP)) == 30
    # And they ran one after the other, in acceptance order
    started = [stack.job(ref)["startedAt"] for ref in (users, groups, memberships)]
    finished = [stack.job(ref)["finishedAt"] for ref in (users, groups, memberships)]
    assert started[1] >= finished[0] and started[2] >= finished[1]
    assert line_of(stack).entries(TENANT_A) == []


def test_waiting_jobs_stay_pending_with_their_queue_position(stack: ImportStack, lambda_context: Any) -> None:
    # Given three accepted uploads, the first one not started yet
    refs = [accept(stack, users_csv(2, start=10 * n)) for n in range(1, 4)]
    # When the later two's events arrive first
    for ref in refs[1:]:
        assert stack.deliver(upload_event(ref), lambda_context) == []
    # Then they wait, PENDING, and say how many imports are ahead of them
    assert [status(stack, ref)["status"] for ref in refs[1:]] == ["PENDING", "PENDING"]
    assert [status(stack, ref)["queuePosition"] for ref in refs] == [0, 1, 2]
    # When the first one runs (woken by the waiters) and everything the importer sent is delivered
    deliver_queue(stack, lambda_context)
    # Then all are done and out of the line
    assert [status(stack, ref)["status"] for ref in refs] == ["COMPLETED"] * 3
    assert [status(stack, ref)["queuePosition"] for ref in refs] == [None] * 3


def test_dry_run_takes_its_place_in_the_line(stack: ImportStack, lambda_context: Any) -> None:
    # Given a real import, then a dry run of a file that links to the first one's users
    users = accept(stack, users_csv(3))
    groups = accept(stack, GROUPS)
    dry = accept(stack, links(3), dry_run=True)
    # When the dry run's event arrives first
    assert stack.deliver(upload_event(dry), lambda_context) == []
    # Then it waits behind the two
    assert status(stack, dry)["queuePosition"] == 2
    assert stack.job(dry)["status"] == "PENDING"
    for ref in (users, groups):
        assert stack.deliver(upload_event(ref), lambda_context) == []
    deliver_queue(stack, lambda_context)
    # And it predicts from what the earlier imports wrote: every link would be created
    assert stack.job(dry)["status"] == "COMPLETED"
    assert stack.job(dry)["summary"]["created"] == 3


def test_tenants_do_not_wait_for_each_other(stack: ImportStack, lambda_context: Any) -> None:
    # Given tenant A's first upload not started, and tenant B's upload
    accept(stack, users_csv(2))
    other = accept(stack, users_csv(2), tenant=TENANT_B)
    # When B's event arrives
    assert stack.deliver(upload_event(other), lambda_context) == []
    # Then B's import ran at once
    assert stack.job(other, TENANT_B)["status"] == "COMPLETED"


def test_duplicate_s3_event_takes_one_place(stack: ImportStack, lambda_context: Any) -> None:
    # Given a first upload holding the turn, and a second one whose event arrives twice
    first = accept(stack, users_csv(2))
    second = stack.seed_upload(users_csv(2, start=50))
    # When the second's S3 event is delivered twice (at-least-once) before the first runs
    for _ in range(2):
        assert stack.deliver(upload_event(second), lambda_context) == []
    # Then it holds exactly one place, behind the first
    assert [e["referenceId"] for e in line_of(stack).entries(TENANT_A)] == [first, second]
    assert int(stack.job(second)["ticket"]) == 2


def test_presigned_upload_counts_from_when_its_file_arrived(stack: ImportStack, lambda_context: Any) -> None:
    # Given a presigned job created first, whose file arrives after a direct upload was accepted
    presigned = stack.seed_upload(users_csv(2), source="presigned")  # job + file, no place yet
    direct = accept(stack, users_csv(2, start=50))
    # When the presigned file's event arrives
    assert stack.deliver(upload_event(presigned), lambda_context) == []
    # Then it is behind the direct upload
    assert [e["referenceId"] for e in line_of(stack).entries(TENANT_A)] == [direct, presigned]
    assert stack.job(presigned)["status"] == "PENDING"


def test_turn_passes_only_when_the_holder_reaches_a_terminal_state(stack: ImportStack, lambda_context: Any) -> None:
    # Given a head that is not terminal but no longer PENDING (a job stopped for approval)
    head = accept(stack, users_csv(2))
    stack.dynamodb.Table(stack.settings.jobs_table).update_item(
        Key={PK: TENANT_A, SK: head},
        UpdateExpression="SET #s = :held",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":held": "HELD"},
    )
    later = accept(stack, users_csv(2, start=50))
    # When the later upload's event arrives
    assert stack.deliver(upload_event(later), lambda_context) == []
    deliver_queue(stack, lambda_context)
    # Then it keeps waiting behind the held job
    assert stack.job(later)["status"] == "PENDING"
    assert status(stack, later)["queuePosition"] == 1


def test_leaving_the_line_moves_everyone_behind_up(stack: ImportStack) -> None:
    # Given three jobs in line
    refs = [accept(stack, users_csv(1, start=n)) for n in (1, 2, 3)]
    # When the middle one is taken out of the line (as an abort does)
    line_of(stack).leave(tenant=TENANT_A, reference_id=refs[1])
    line_of(stack).leave(tenant=TENANT_A, reference_id=refs[1])  # repeatable
    # Then the last one has one import ahead of it
    assert line_of(stack).turn(tenant=TENANT_A, reference_id=refs[2]).ahead == 1
    assert line_of(stack).turn(tenant=TENANT_A, reference_id=refs[1]).ahead is None


# -- failure cases ----------------------------------------------------------------------------
def test_crashed_holder_blocks_the_tenant_no_longer_than_its_lease(stack: ImportStack, lambda_context: Any) -> None:
    # Given a head whose attempt crashed while planning (PROCESSING, lease running until t=1120)
    head = accept(stack, users_csv(3))
    waiting = accept(stack, users_csv(2, start=50))
    claimed = stack.jobs.claim(tenant=TENANT_A, reference_id=head, attempt="crashed", now=1000, lease_seconds=120)
    assert claimed is not None
    # When the waiting job's re-check comes once the lease has expired
    clock: Callable[[], float] = lambda: 2000.0  # noqa: E731
    assert stack.deliver(upload_event(waiting), lambda_context, clock=clock) == []
    deliver_queue(stack, lambda_context, clock=clock)
    # Then the crashed import was taken over and finished, and the waiting one ran after it
    assert stack.job(head)["status"] == "COMPLETED"
    assert stack.job(waiting)["status"] == "COMPLETED"


def test_finished_head_left_in_the_line_is_removed_by_the_next_job(stack: ImportStack, lambda_context: Any) -> None:
    # Given a head that finished but crashed before leaving the line
    head = accept(stack, users_csv(2))
    waiting = accept(stack, users_csv(2, start=50))
    stack.dynamodb.Table(stack.settings.jobs_table).update_item(
        Key={PK: TENANT_A, SK: head},
        UpdateExpression="SET #s = :done",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": "COMPLETED"},
    )
    # When the waiting job's event arrives
    assert stack.deliver(upload_event(waiting), lambda_context) == []
    deliver_queue(stack, lambda_context)
    # Then the stale entry is gone and the job ran
    assert stack.job(waiting)["status"] == "COMPLETED"
    assert line_of(stack).entries(TENANT_A) == []


def test_waiting_job_keeps_one_recheck_chain(stack: ImportStack, lambda_context: Any) -> None:
    # Given a waiting job whose S3 event arrives twice
    accept(stack, users_csv(2))
    waiting = accept(stack, users_csv(2, start=50))
    options = {"import_line_recheck_seconds": 1}
    for _ in range(2):
        assert stack.deliver(upload_event(waiting), lambda_context, **options) == []
    # When both re-check messages come due
    import time

    time.sleep(1.2)
    bodies = [json.loads(b) for b in stack.queue_bodies()]
    checks = [b for b in bodies if b.get("check")]
    assert len(checks) == 2
    token = stack.job(waiting)["lineCheck"]
    for body in checks:
        stack.deliver(sqs_event([json.dumps(body)]), lambda_context, **options)
    time.sleep(1.2)
    # Then only the chain the job names goes on: one new re-check
    later = [json.loads(b) for b in stack.queue_bodies() if json.loads(b).get("check")]
    assert len(later) == 1 and later[0]["check"] != token
    assert stack.job(waiting)["lineCheck"] == later[0]["check"]


# -- the line under concurrency ---------------------------------------------------------------
def test_two_enters_interleaved_at_every_step_take_distinct_ordered_places(
    resources: dict[str, Any], settings: Settings
) -> None:
    """Writer A's calls are counted; for each position k, writer B enters completely just before
    A's k-th call. Whatever k, both hold exactly one place each, tickets are distinct, and the
    line lists them in ticket order."""
    stack = build_import_stack(resources, settings)
    calls = _count_calls(stack, lambda line, ref: line.enter(tenant=TENANT_A, reference_id=ref))
    for k in range(calls + 1):
        first, second = stack.seed_upload(users_csv(1)), stack.seed_upload(users_csv(1))
        _enter_with_interruption(stack, first, second, at_call=k)
        entries = line_of(stack).entries(TENANT_A)
        assert sorted(e["referenceId"] for e in entries) == sorted([first, second]), k
        assert [e["ticket"] for e in entries] == sorted(e["ticket"] for e in entries)
        for entry in entries:
            assert int(stack.job(entry["referenceId"])["ticket"]) == entry["ticket"]
            line_of(stack).leave(tenant=TENANT_A, reference_id=entry["referenceId"], ticket=entry["ticket"])
    counter = stack.dynamodb.Table(stack.settings.jobs_table).get_item(Key={PK: TENANT_A, SK: LINE_SK})["Item"]
    assert int(counter["last"]) == 1 + 2 * (calls + 1)  # + the counting run


def _enter_with_interruption(stack: ImportStack, first: str, second: str, *, at_call: int) -> None:
    """``first`` enters; just before its ``at_call``-th DynamoDB call, ``second`` enters completely."""
    client = boto3.resource("dynamodb")
    seen = {"n": 0}

    def before_call(**_: Any) -> None:
        if seen["n"] == at_call:
            line_of(stack).enter(tenant=TENANT_A, reference_id=second)
        seen["n"] += 1

    client.meta.client.meta.events.register("before-call.dynamodb", before_call)
    TenantLine(stack.settings.jobs_table, resource=client).enter(tenant=TENANT_A, reference_id=first)
    if at_call >= seen["n"]:
        line_of(stack).enter(tenant=TENANT_A, reference_id=second)


def _count_calls(stack: ImportStack, act: Callable[[TenantLine, str], Any]) -> int:
    client = boto3.resource("dynamodb")
    count = {"n": 0}

    def before_call(**_: Any) -> None:
        count["n"] += 1

    client.meta.client.meta.events.register("before-call.dynamodb", before_call)
    ref = stack.seed_upload(users_csv(1))
    act(TenantLine(stack.settings.jobs_table, resource=client), ref)
    line_of(stack).leave(tenant=TENANT_A, reference_id=ref)
    return count["n"]


def test_line_items_never_look_like_jobs(stack: ImportStack) -> None:
    # The line shares the tenant's partition with its jobs: its sort keys cannot be a reference id
    ref = accept(stack, users_csv(1))
    items = stack.dynamodb.Table(stack.settings.jobs_table).query(
        KeyConditionExpression="pk = :t", ExpressionAttributeValues={":t": TENANT_A}
    )["Items"]
    line_keys = sorted(i[SK] for i in items if i[SK] != ref)
    assert line_keys == [LINE_SK, f"{ENTRY_PREFIX}000000000001"]
