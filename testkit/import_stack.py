"""Builders for the importer and status tests: the import stack in moto (bucket, tables, queue,
event bus with a capture queue), uploads seeded with the upload route's metadata, SQS events
wrapping S3 notifications, and HTTP API v2 events for the status routes."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import boto3

from lambdas.common.config import PENDING_PREFIX, Settings
from lambdas.common.schema import EVENT_SOURCE
from lambdas.importer.chunks import RosterServices
from lambdas.importer.pipeline import Importer
from lambdas.importer.wiring import roster_services
from lambdas.jobs.objects import UploadMetadata, source_key
from lambdas.jobs.store import JobStore
from local.resources import create_import_queue
from testkit.apigw import BOTH_SCOPES, TENANT_A, load_event

USERS_HEADER = "user_username,user_name,user_password"


def users_csv(count: int, *, weak: Sequence[int] = (), start: int = 1, newline: str = "\r\n") -> bytes:
    """A users file of ``count`` rows; the rows numbered in ``weak`` (1-based) have a weak password."""
    lines = [USERS_HEADER]
    for n in range(start, start + count):
        password = "weak" if n in weak else "Secret#123"
        lines.append(f"user{n:03d},User {n},{password}")
    return (newline.join(lines) + newline).encode()


def new_reference() -> str:
    return str(uuid.uuid4())


# -- SQS events -------------------------------------------------------------------------------
def s3_put_body(key: str, *, size: int = 0, encode: Callable[[str], str] = quote_plus) -> str:
    """The S3 notification of the canonical event for ``key``, URL-encoded as S3 sends it."""
    template = load_event("sqs_s3_put.json")["Records"][0]["body"]
    body = json.loads(template)
    body["Records"][0]["s3"]["object"].update({"key": encode(key), "size": size})
    return json.dumps(body)


def s3_test_event_body() -> str:
    return json.dumps(load_event("s3_test_event.json"))


def sqs_event(bodies: Iterable[str]) -> dict[str, Any]:
    """An SQS event (canonical record shape) with one record per body."""
    canonical = load_event("sqs_s3_put.json")["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(canonical)
        record.update({"messageId": str(uuid.uuid4()), "body": body})
        records.append(record)
    return {"Records": records}


def upload_event(reference_id: str) -> dict[str, Any]:
    return sqs_event([s3_put_body(f"{PENDING_PREFIX}{reference_id}.csv")])


# -- HTTP API v2 events -----------------------------------------------------------------------
def status_event(
    path: str, reference_id: str, *, tenant: str = TENANT_A, scopes: tuple[str, ...] = BOTH_SCOPES
) -> dict[str, Any]:
    """The canonical status request re-aimed at ``path`` (``.../{referenceId}``) for ``tenant``."""
    event = copy.deepcopy(load_event("status_request.json"))
    route_key = f"GET {path}"
    concrete = path.replace("{referenceId}", reference_id)
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = concrete
    event["pathParameters"] = {"referenceId": reference_id}
    jwt = event["requestContext"]["authorizer"]["jwt"]
    jwt["claims"]["client_id"] = jwt["claims"]["sub"] = tenant
    jwt["claims"]["scope"] = " ".join(scopes)
    jwt["scopes"] = list(scopes)
    return event


# -- the stack --------------------------------------------------------------------------------
@dataclass
class ImportStack:
    """The importer's resources in moto and what a test needs to look at them."""

    settings: Settings
    s3: Any = field(default_factory=lambda: boto3.client("s3"))
    sqs: Any = field(default_factory=lambda: boto3.client("sqs"))
    dynamodb: Any = field(default_factory=lambda: boto3.resource("dynamodb"))
    capture_url: str = ""

    @property
    def jobs(self) -> JobStore:
        return JobStore(self.settings.jobs_table, resource=self.dynamodb)

    def rules(self) -> RosterServices:
        return roster_services(self.settings, self.dynamodb)

    def importer(
        self, *, rules: RosterServices | None = None, clock: Callable[[], float] | None = None, **settings: Any
    ) -> Importer:
        """The importer on this stack; ``settings`` override fields of ``Settings``."""
        options: dict[str, Any] = {"dynamodb": self.dynamodb, "s3": self.s3, "sqs": self.sqs}
        if clock is not None:
            options["clock"] = clock
        return Importer.build(replace(self.settings, **settings), rules or self.rules(), **options)

    def deliver(self, event: dict[str, Any], context: Any, **settings: Any) -> list[str]:
        """The importer function's batch handling of ``event`` on this stack (``settings`` as in
        ``importer``); the ids of the records it reported as failed."""
        from lambdas.handlers.importer import process_batch  # checks its settings at import

        response = process_batch(event, context, self.importer(**settings))
        return [str(item["itemIdentifier"]) for item in response["batchItemFailures"]]

    def seed_upload(
        self,
        content: bytes,
        *,
        reference_id: str | None = None,
        tenant: str | None = TENANT_A,
        file_name: str = "users.csv",
        dry_run: bool = False,
        source: str = "direct",
        with_job: bool = True,
        upload_deadline: int = 2**31,
        change_threshold: Decimal | None = None,
    ) -> str:
        """What the upload route leaves: the PENDING job, then the object with its metadata."""
        reference_id = reference_id or new_reference()
        if with_job and tenant is not None:
            self.jobs.create_pending(
                tenant=tenant,
                reference_id=reference_id,
                file_name=file_name,
                dry_run=dry_run,
                upload_deadline=upload_deadline,
                source=source,
                change_threshold=change_threshold,
            )
        metadata = UploadMetadata(
            tenant=tenant or "",
            file_name=file_name,
            dry_run=dry_run,
            source=source,
            sha256="0" * 64,
            change_threshold=change_threshold,
        ).as_s3()
        if tenant is None:
            del metadata["tenant"]  # an object without the tenant (as a foreign write would leave it)
        self.s3.put_object(
            Bucket=self.settings.bucket_name,
            Key=source_key(reference_id),
            Body=content,
            Metadata=metadata,
        )
        return reference_id

    def job(self, reference_id: str, tenant: str = TENANT_A) -> dict[str, Any]:
        item = self.jobs.get(tenant=tenant, reference_id=reference_id)
        assert item is not None, f"no job {reference_id}"
        return item

    def keys(self, prefix: str) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.settings.bucket_name, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def text(self, key: str) -> str:
        body: bytes = self.s3.get_object(Bucket=self.settings.bucket_name, Key=key)["Body"].read()
        return body.decode("utf-8")

    def queue_bodies(self) -> list[str]:
        """Receive (and delete) every message on the import queue."""
        return self._drain(self.settings.import_queue_url)

    def published_events(self) -> list[dict[str, Any]]:
        """The job events that reached the bus so far (through a rule to a capture queue)."""
        return [json.loads(body) for body in self._drain(self.capture_url)]

    def _drain(self, queue_url: str) -> list[str]:
        bodies: list[str] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def build_import_stack(resources: dict[str, Any], settings: Settings) -> ImportStack:
    """Bucket and tables (conftest ``resources``) plus the import queue (without the bucket's
    notification: tests hand the importer their S3 events), the event bus and a capture queue."""
    sqs = boto3.client("sqs")
    queues = create_import_queue(sqs, resources["s3"], settings)
    resources["s3"].put_bucket_notification_configuration(Bucket=settings.bucket_name, NotificationConfiguration={})
    events = boto3.client("events")
    events.create_event_bus(Name=settings.event_bus_name)
    capture_url = sqs.create_queue(QueueName="captured-job-events")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="capture-job-events",
        EventBusName=settings.event_bus_name,
        EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule="capture-job-events", EventBusName=settings.event_bus_name, Targets=[{"Id": "capture", "Arn": capture_arn}]
    )
    stack = ImportStack(
        settings=replace(settings, import_queue_url=queues["queue_url"]), sqs=sqs, capture_url=capture_url
    )
    stack.queue_bodies()  # the s3:TestEvent of the notification configuration
    return stack
