"""Fault injection at every write of the importer, against moto.

A clean run of each scenario is recorded first (at collection: a botocore ``before-call`` hook on
every client the importer uses lists its writes in order). Then each write position becomes a test
case: that call fails once, either before it reaches the service (``fails``) or after the service
committed it (``lost-reply``: the write happened, the caller sees an error). The failed SQS record
is redelivered as SQS would (same body, after the lease when it is held), chunk messages are drained
from the real queue, and an audit compares everything with the clean run: terminal state and exact
counts, the same report, the same roster rows, the source moved, no pending or chunk object left,
nothing left on the queue, and at most one terminal event.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambdas.common.config import CHUNKS_PREFIX, FAILED_PREFIX, PENDING_PREFIX, PROCESSED_PREFIX, Settings
from lambdas.handlers import importer as handler
from lambdas.importer import wiring
from lambdas.importer.pipeline import Importer
from lambdas.jobs.line import TenantLine
from lambdas.roster.store import Entity, RosterStore
from local.resources import create_bucket, create_tables
from testkit.context import FakeLambdaContext
from testkit.import_stack import ImportStack, build_import_stack, s3_put_body, sqs_event, users_csv

# Every write API of the services the importer talks to (botocore event names use these ids).
WRITE_OPERATIONS = {
    "s3": {"PutObject", "CopyObject", "DeleteObject", "DeleteObjects"},
    "dynamodb": {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"},
    "sqs": {"SendMessage", "SendMessageBatch"},
    "eventbridge": {"PutEvents"},
}
MAX_DELIVERY_ROUNDS = 12
TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"}


@dataclass(frozen=True)
class Scenario:
    name: str
    content: bytes
    chunk_rows: int = 2000
    with_job: bool = True
    # A file of the same tenant accepted just before this one, whose S3 event arrives after it:
    # this import waits its turn, then is woken when that one ends.
    waits_behind: bytes | None = None


SCENARIOS = {
    s.name: s
    for s in (
        # one chunk applied inline, one conditional TransactWriteItems (29 rows), one failing row
        Scenario("inline", users_csv(30, weak=[5])),
        # three chunks fanned out as SQS messages, one failing row
        Scenario("fanout", users_csv(7, weak=[3]), chunk_rows=3),
        # a file-level failure (a users header without user_username): FAILED, nothing imported
        Scenario("failed", b"user_name,user_email\r\na,b\r\n"),
        # an object whose job record is missing: recreated from its metadata (PutItem)
        Scenario("orphan", users_csv(2), with_job=False),
        # the tenant's line: enters behind an earlier upload, waits, is woken (SendMessage, DeleteItem)
        Scenario("line", users_csv(3, weak=[2]), waits_behind=users_csv(2, start=500)),
    )
}


@dataclass(frozen=True)
class Fault:
    """The ``nth`` call of ``service.operation``, which is write number ``position`` of a clean run."""

    scenario: str
    position: int
    service: str
    operation: str
    nth: int

    def __str__(self) -> str:
        return f"{self.scenario}-{self.position:02d}-{self.service}.{self.operation}#{self.nth}"


@dataclass
class Outcome:
    reference_id: str
    settled: bool
    writes: list[tuple[str, str]]
    status: str
    summary: dict[str, int] | None
    errors: list[dict[str, Any]]
    report: list[list[str]]
    roster: list[str]
    place: str | None


@dataclass
class World:
    """The importer's resources in moto, shared by the tests of a module (each test has its own tenant)."""

    stack: ImportStack
    clock: list[float] = field(default_factory=lambda: [time.time()])

    @classmethod
    def create(cls) -> World:
        settings = Settings(password_hash_log2_n=4)
        s3 = boto3.client("s3")
        create_bucket(s3, settings)
        create_tables(boto3.client("dynamodb"), settings)
        return cls(stack=build_import_stack({"s3": s3}, settings))

    def importer(self, clients: dict[str, Any], chunk_rows: int) -> Importer:
        # A waiting job's re-check is delayed past the module's end: the wake-up must do the work.
        settings = replace(self.stack.settings, import_chunk_rows=chunk_rows, import_line_recheck_seconds=900)
        return Importer.build(
            settings,
            wiring.roster_services(settings, clients["dynamodb"]),
            dynamodb=clients["dynamodb"],
            s3=clients["s3"],
            sqs=clients["sqs"],
            eventbridge=clients["eventbridge"],
            clock=lambda: self.clock[0],
        )

    def run(self, scenario: Scenario, tenant: str, inject: Callable[[dict[str, Any]], None] | None = None) -> Outcome:
        """Store the upload, deliver its S3 event, and keep delivering what SQS would deliver
        (failed records again, chunk messages) until nothing is left; then look at everything."""
        stack = self.stack
        line = TenantLine(stack.settings.jobs_table, resource=stack.dynamodb)
        inbox = []
        if scenario.waits_behind is not None:  # accepted first (the upload route enters the line)
            ahead = stack.seed_upload(scenario.waits_behind, tenant=tenant)
            line.enter(tenant=tenant, reference_id=ahead)
            inbox.append(s3_put_body(f"{PENDING_PREFIX}{ahead}.csv"))
        ref = stack.seed_upload(scenario.content, tenant=tenant, with_job=scenario.with_job)
        if scenario.waits_behind is not None:
            line.enter(tenant=tenant, reference_id=ref)
        clients = {
            "s3": boto3.client("s3"),
            "sqs": boto3.client("sqs"),
            "eventbridge": boto3.client("events"),
            "dynamodb": boto3.resource("dynamodb"),
        }
        writes: list[tuple[str, str]] = []

        def record(event_name: str, **_: Any) -> None:
            _, service, operation = event_name.split(".")
            writes.append((service, operation))

        # Registered first on the exact event names, so they run before an injected fault's hook.
        for client in botocore_clients(clients):
            service = client.meta.service_model.service_id.hyphenize()
            for operation in WRITE_OPERATIONS[service]:
                client.meta.events.register(f"before-call.{service}.{operation}", record)
        if inject is not None:
            inject(clients)
        importer = self.importer(clients, scenario.chunk_rows)
        inbox.insert(0, s3_put_body(f"{PENDING_PREFIX}{ref}.csv"))  # this file's event comes first
        settled = False
        for _ in range(MAX_DELIVERY_ROUNDS):
            inbox += stack.queue_bodies()
            if not inbox:
                settled = True
                break
            redeliver = []
            for body in inbox:
                answer = handler.process_batch({"Records": [sqs_record(body)]}, FakeLambdaContext(), importer)
                if answer["batchItemFailures"]:
                    redeliver.append(body)
            inbox = redeliver
            if redeliver:  # SQS waits for the visibility timeout, which is longer than the lease
                self.clock[0] += stack.settings.import_lease_seconds + 1
        return self.outcome(ref, tenant, settled, writes)

    def outcome(self, ref: str, tenant: str, settled: bool, writes: list[tuple[str, str]]) -> Outcome:
        stack = self.stack
        job = stack.job(ref, tenant)
        report_keys = stack.keys(f"import-csv/results/{ref}.csv")
        report = list(csv.reader(io.StringIO(stack.text(report_keys[0])))) if report_keys else []
        roster = RosterStore(stack.settings.roster_table, resource=stack.dynamodb).query_all(tenant, Entity.USER)
        places = [p for p in (PROCESSED_PREFIX, FAILED_PREFIX) if stack.keys(f"{p}{ref}.csv")]
        return Outcome(
            reference_id=ref,
            settled=settled,
            writes=writes,
            status=job["status"],
            summary=json.loads(json.dumps(job.get("summary"), default=int)),
            errors=json.loads(json.dumps(job.get("errors"), default=int)),
            report=report,
            roster=sorted(str(item["sk"]) for item in roster),
            place=places[0] if len(places) == 1 else None,
        )


def botocore_clients(clients: dict[str, Any]) -> Iterator[Any]:
    for name, client in clients.items():
        yield client.meta.client if name == "dynamodb" else client


def sqs_record(body: str) -> dict[str, Any]:
    record: dict[str, Any] = sqs_event([body])["Records"][0]
    return record


def fail_once(fault: Fault, *, after: bool) -> Callable[[dict[str, Any]], None]:
    """Registers on the fault's client a hook that breaks its ``nth`` call of the operation, once:
    ``before-call`` (the write never happens) or ``after-call`` (it happened, the reply is lost)."""

    def inject(clients: dict[str, Any]) -> None:
        client = next(
            c for c in botocore_clients(clients) if c.meta.service_model.service_id.hyphenize() == fault.service
        )
        calls = Counter[str]()

        def raise_on_nth(**_: Any) -> None:
            calls["seen"] += 1
            if calls["seen"] == fault.nth:
                raise ClientError(
                    {"Error": {"Code": "InternalError", "Message": f"injected fault {fault}"}}, fault.operation
                )

        stage = "after-call" if after else "before-call"
        client.meta.events.register(f"{stage}.{fault.service}.{fault.operation}", raise_on_nth)

    return inject


def clean_runs() -> dict[str, Outcome]:
    """Each scenario once without faults, in its own moto: the reference every fault is audited against."""
    with mock_aws():
        world = World.create()
        return {name: world.run(scenario, f"clean-{name}") for name, scenario in SCENARIOS.items()}


CLEAN = clean_runs()


def faults() -> list[Fault]:
    found = []
    for name, outcome in CLEAN.items():
        seen = Counter[tuple[str, str]]()
        for position, call in enumerate(outcome.writes):
            seen[call] += 1
            found.append(Fault(name, position, call[0], call[1], seen[call]))
    return found


FAULTS = faults()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        yield World.create()


# -- the clean runs the faults are compared with ------------------------------------------------
def test_clean_runs_make_every_kind_of_write() -> None:
    # Given the clean run of every scenario
    # When their writes are listed
    kinds = {call for outcome in CLEAN.values() for call in outcome.writes}
    # Then every write API the importer uses is exercised, so each gets its faults
    assert kinds == {
        ("s3", "PutObject"),
        ("s3", "CopyObject"),
        ("s3", "DeleteObject"),
        ("s3", "DeleteObjects"),
        ("dynamodb", "PutItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "DeleteItem"),
        ("dynamodb", "TransactWriteItems"),
        ("sqs", "SendMessage"),
        ("sqs", "SendMessageBatch"),
        ("eventbridge", "PutEvents"),
    }


@pytest.mark.parametrize(
    ("name", "status", "summary", "place"),
    [
        ("inline", "COMPLETED_WITH_ERRORS", (30, 29, 0, 0, 1, 0), PROCESSED_PREFIX),
        ("fanout", "COMPLETED_WITH_ERRORS", (7, 6, 0, 0, 1, 0), PROCESSED_PREFIX),
        ("failed", "FAILED", (0, 0, 0, 0, 0, 0), FAILED_PREFIX),
        ("orphan", "COMPLETED", (2, 2, 0, 0, 0, 0), PROCESSED_PREFIX),
        ("line", "COMPLETED_WITH_ERRORS", (3, 2, 0, 0, 1, 0), PROCESSED_PREFIX),
    ],
)
def test_clean_run_ends_with_the_expected_counts(name: str, status: str, summary: tuple[int, ...], place: str) -> None:
    # Given the clean run of a scenario
    clean = CLEAN[name]
    # Then it settled in its terminal state with the counts the file implies
    assert clean.settled
    assert clean.status == status
    assert clean.summary == dict(
        zip(("rows", "created", "updated", "unchanged", "failed", "warnings"), summary, strict=True)
    )
    assert clean.place == place
    ahead = 2 if SCENARIOS[name].waits_behind else 0  # the users of the earlier upload
    assert len(clean.roster) == summary[1] + ahead
    assert len(clean.report) == 1 + (summary[0] or 1)


# -- one failed write, then redelivery ---------------------------------------------------------
@pytest.mark.parametrize("after", [False, True], ids=["fails", "lost-reply"])
@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_import_converges_to_the_clean_outcome_after_a_failed_write(world: World, fault: Fault, after: bool) -> None:
    # Given a stored upload whose import meets one failing write
    scenario, clean = SCENARIOS[fault.scenario], CLEAN[fault.scenario]
    tenant = f"t-{fault}-{after}"
    # When the import runs and every failed record is redelivered (after the lease) until none is left
    outcome = world.run(scenario, tenant, inject=fail_once(fault, after=after))
    # Then the fault happened and the import converged to exactly the clean run's outcome
    assert outcome.writes[fault.position] == (fault.service, fault.operation)
    assert outcome.settled, "records were still being redelivered"
    assert outcome.status in TERMINAL
    assert (outcome.status, outcome.summary, outcome.errors) == (clean.status, clean.summary, clean.errors)
    assert outcome.report == clean.report
    assert outcome.roster == clean.roster
    assert outcome.place == clean.place
    ref = outcome.reference_id
    assert world.stack.keys(f"{PENDING_PREFIX}{ref}") == []
    assert world.stack.keys(f"{CHUNKS_PREFIX}{ref}/") == []
    assert world.stack.queue_bodies() == []
    assert TenantLine(world.stack.settings.jobs_table, resource=world.stack.dynamodb).entries(tenant) == []
    terminal_events = [
        e
        for e in world.stack.published_events()
        if e["detail"]["referenceId"] == ref and e["detail"]["status"] in TERMINAL
    ]
    assert len(terminal_events) <= 1
