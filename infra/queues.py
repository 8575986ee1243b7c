"""SQS queues as the stack builds them, from their ``lambdas.common.schema.QueueSpec``: SQS-managed
encryption, TLS only, the spec's retention, visibility timeout and redrive; and the event source
mapping of the function that reads one (batch size and partial batch responses from the same spec,
which the local stack's pump reads too)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambdas.common.schema import QueueSpec


def queue_with_dead_letters(scope: Construct, spec: QueueSpec, *, purpose: str) -> tuple[sqs.Queue, sqs.Queue]:
    """The queue ``Queue`` and its dead-letter queue ``DeadLetters`` in ``scope``, with ``purpose``
    naming the queue in the DLQ's cdk-nag acknowledgment ("import", "delivery")."""
    if spec.dead_letters is None or spec.max_receive_count is None:
        raise ValueError(f"{spec.local_name} has no dead-letter queue")
    dlq = _queue(scope, "DeadLetters", spec.dead_letters)
    Validations.of(dlq).acknowledge(
        Acknowledgment(id="AwsSolutions-SQS3", reason=f"This queue is the dead-letter queue of the {purpose} queue.")
    )
    redrive = sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count)
    return _queue(scope, "Queue", spec, dead_letter_queue=redrive), dlq


def event_source(queue: sqs.IQueue, spec: QueueSpec, *, max_concurrency: int | None = None) -> sources.SqsEventSource:
    """The event source mapping of the function that reads ``queue``."""
    consumer = spec.reader()
    return sources.SqsEventSource(
        queue,
        batch_size=consumer.batch_size,
        max_concurrency=max_concurrency,
        report_batch_item_failures=consumer.report_batch_item_failures,
    )


def _queue(
    scope: Construct, construct_id: str, spec: QueueSpec, *, dead_letter_queue: sqs.DeadLetterQueue | None = None
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=_seconds(spec.retention_seconds),
        visibility_timeout=_seconds(spec.visibility_timeout_seconds),
        dead_letter_queue=dead_letter_queue,
    )


def _seconds(value: int | None) -> Duration | None:
    return None if value is None else Duration.seconds(value)
