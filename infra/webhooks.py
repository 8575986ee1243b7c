"""Webhook delivery: the job events bus → a rule (HELD and terminal states) → the delivery queue
(+DLQ, also the rule target's DLQ) → the delivery Lambda with partial batch responses. Retries are
the queue's: a failed attempt's message comes back after the backoff the function sets
(ChangeMessageVisibility), for 24 hours; a message that keeps crashing the function reaches the DLQ
after the queue's ``max_receive_count`` receives (``lambdas.common.schema.WEBHOOK_QUEUE``). Signing
secrets are sealed with this construct's KMS key."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants as c
from infra.functions import PythonFunction
from infra.queues import event_source, queue_with_dead_letters
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
        # Messages carry job status results (no secret): SQS-managed encryption, which EventBridge
        # can write to without a key policy.
        self.queue, self.dlq = queue_with_dead_letters(self, c.WEBHOOK_QUEUE, purpose="delivery")
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
            event_source(self.queue, c.WEBHOOK_QUEUE, max_concurrency=c.WEBHOOK_MAX_CONCURRENCY)
        )
        self._grant(storage)

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
