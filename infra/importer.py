"""Import pipeline: S3 ``ObjectCreated`` under import-csv/pending/*.csv → SQS (+DLQ) → importer
Lambda with partial batch responses. The importer fans a large file out as chunk messages on the
same queue, and publishes every job state change on its EventBridge bus."""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_s3 import IBucketRef
from constructs import Construct

from infra import constants as c
from infra.functions import PythonFunction
from infra.queues import event_source, queue_with_dead_letters
from infra.storage import Storage


class ImportWorker(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, storage: Storage, code: lambda_.Code, log_level: str
    ) -> None:
        super().__init__(scope, construct_id)
        # Messages carry object keys and row ranges, never rows: SQS-managed encryption suffices and
        # lets S3 deliver notifications without a key policy.
        self.queue, self.dlq = queue_with_dead_letters(self, c.IMPORT_QUEUE, purpose="import")
        self.bus = events.EventBus(self, "Events", description="Rostering import job state changes")
        environment = {
            **storage.environment,
            c.Env.EVENT_BUS_NAME: self.bus.event_bus_name,
            c.Env.IMPORT_QUEUE_URL: self.queue.queue_url,
            c.Env.MAX_UPLOAD_BYTES: str(c.SETTINGS_DEFAULTS.max_upload_bytes),
            c.Env.PASSWORD_HASH_LOG2_N: str(c.SETTINGS_DEFAULTS.password_hash_log2_n),
            c.Env.IMPORT_LEASE_SECONDS: str(c.IMPORT_LEASE_SECONDS),
            c.Env.IMPORT_CHUNK_ROWS: str(c.SETTINGS_DEFAULTS.import_chunk_rows),
            c.Env.IMPORT_LINE_RECHECK_SECONDS: str(c.SETTINGS_DEFAULTS.import_line_recheck_seconds),
        }
        self.handler = PythonFunction(
            self, "Function", spec=c.IMPORTER, code=code, log_level=log_level, environment=environment
        )
        self.handler.function.add_event_source(
            event_source(self.queue, c.IMPORT_QUEUE, max_concurrency=c.IMPORT_MAX_CONCURRENCY)
        )
        storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            _QueueDestination(self.queue),
            s3.NotificationKeyFilter(prefix=c.PENDING_PREFIX, suffix=c.CSV_SUFFIX),
        )

        self._grant(storage)
        self._dead_letters(code=code, log_level=log_level, environment=environment, storage=storage)

    def _grant(self, storage: Storage) -> None:
        role = self.handler.role
        self.queue.grant_send_messages(role)  # chunk messages, turn wake-ups and re-checks
        self.bus.grant_put_events_to(role)
        # Explicit item actions (grant_read_write_data would add Scan and the stream reads).
        storage.jobs.grant(role, *c.IMPORTER_TABLE_ACTIONS)
        storage.roster.grant(role, *c.IMPORTER_TABLE_ACTIONS)
        # Read the pending file, write the report, move the file to processed/ or failed/.
        storage.grant_objects(role, "s3:GetObject", "s3:PutObject", "s3:DeleteObject", prefix=c.IMPORT_PREFIX)
        storage.grant_list(role, prefix=c.IMPORT_PREFIX)

    def _dead_letters(
        self, *, code: lambda_.Code, log_level: str, environment: dict[str, str], storage: Storage
    ) -> None:
        """The DLQ consumer: a message that failed after every retry ends its job FAILED
        (IMPORT_FAILED): report, file to failed/, the terminal write, the next job of the
        tenant woken, chunk files deleted."""
        self.deadletter = PythonFunction(
            self, "DeadLetterConsumer", spec=c.DEADLETTER, code=code, log_level=log_level, environment=environment
        )
        self.deadletter.function.add_event_source(event_source(self.dlq, c.IMPORT_DLQ))
        role = self.deadletter.role
        self.queue.grant_send_messages(role)  # wakes the tenant's next job
        self.bus.grant_put_events_to(role)
        storage.jobs.grant(role, *c.IMPORTER_TABLE_ACTIONS)  # explicit item actions, as the importer's
        # Read recorded chunk results, write the report, move the file, delete chunk files.
        storage.grant_objects(role, "s3:GetObject", "s3:PutObject", "s3:DeleteObject", prefix=c.IMPORT_PREFIX)
        storage.grant_list(role, prefix=c.IMPORT_PREFIX)


@jsii.implements(s3.IBucketNotificationDestination)
class _QueueDestination:
    """``s3n.SqsDestination`` with ``aws:SourceAccount`` next to ``aws:SourceArn`` in the queue policy
    (AWS's confused-deputy guidance for S3 event notifications: bucket names are global and reusable)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, scope: Construct, bucket: IBucketRef) -> s3.BucketNotificationDestinationConfig:
        added = self._queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                resources=[self._queue.queue_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": bucket.bucket_ref.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
                },
            )
        )
        dependencies = [added.policy_dependable] if added.policy_dependable is not None else []
        return s3.BucketNotificationDestinationConfig(
            arn=self._queue.queue_arn, type=s3.BucketNotificationDestinationType.QUEUE, dependencies=dependencies
        )
