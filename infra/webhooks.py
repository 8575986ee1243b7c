"""Webhook delivery: the job events bus → a rule (HELD and terminal states) → the delivery queue
(+DLQ, also the rule target's DLQ) → the delivery Lambda with partial batch responses. Retries are the queue's: a failed
attempt's message comes back after the backoff the function sets (ChangeMessageVisibility), for
24 hours; a message that keeps crashing the function reaches the DLQ after
WEBHOOK_MAX_RECEIVE_COUNT receives. Signing secrets are sealed with this construct's KMS key."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.functions import PythonFunction
from infra.storage import Storage
from lambdas.webhooks.events import bus_pattern


class Webhooks(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        bus: events.IEventBus,
        code: lambda_.Code,
        log_level: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "SecretsKey", enable_key_rotation=True, description="Rostering webhook secrets")
        self._queues()
        self.rule = events.Rule(
            self,
            "JobEvents",
            event_bus=bus,
            event_pattern=_pattern(),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.dlq,
                    max_event_age=c.WEBHOOK_RULE_MAX_EVENT_AGE,
                    retry_attempts=c.WEBHOOK_RULE_RETRY_ATTEMPTS,
                )
            ],
            description="HELD and terminal import states to the webhook delivery queue",
        )
        self.handler = PythonFunction(
            self,
            "Function",
            spec=c.DELIVERY,
            code=code,
            log_level=log_level,
            environment={
                c.Env.TENANTS_TABLE_NAME: storage.tenants.table_name,
                c.Env.WEBHOOK_KEY_ID: self.key.key_arn,
                c.Env.WEBHOOK_QUEUE_URL: self.queue.queue_url,
                c.Env.WEBHOOK_TIMEOUT_SECONDS: str(c.WEBHOOK_TIMEOUT_SECONDS),
            },
        )
        self.handler.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=c.WEBHOOK_BATCH_SIZE,
                max_concurrency=c.WEBHOOK_MAX_CONCURRENCY,
                report_batch_item_failures=True,
            )
        )
        self._grant(storage)

    def _queues(self) -> None:
        # Messages carry job status results (no secret): SQS-managed encryption, which EventBridge
        # can write to without a key policy.
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=c.DLQ_RETENTION,
        )
        Validations.of(self.dlq).acknowledge(
            Acknowledgment(id="AwsSolutions-SQS3", reason="This queue is the dead-letter queue of the delivery queue.")
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=c.WEBHOOK_VISIBILITY_TIMEOUT,
            retention_period=c.WEBHOOK_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=c.WEBHOOK_MAX_RECEIVE_COUNT),
        )

    def _grant(self, storage: Storage) -> None:
        role = self.handler.role
        self.queue.grant(role, "sqs:ChangeMessageVisibility")  # the backoff of a failed attempt
        storage.tenants.grant_read_write_data(role)  # the endpoint, the delivery log
        self.key.grant_decrypt(role)

    @property
    def environment(self) -> dict[str, str]:
        """What the webhook route needs to seal a new secret."""
        return {c.Env.WEBHOOK_KEY_ID: self.key.key_arn}


def _pattern() -> events.EventPattern:
    """``lambdas.webhooks.events.bus_pattern`` (the local stack's rule) as CDK writes it."""
    pattern = bus_pattern()
    return events.EventPattern(source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"])
