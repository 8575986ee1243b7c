"""Webhook delivery Lambda: SQS batches of job state-change events (EventBridge rule → delivery
queue), one signed POST per event, partial batch failures. A failed attempt's message is made
visible again after the retry policy's backoff (``ChangeMessageVisibility``), so retries are the
queue's, never a sleep; after the 24-hour window the event is given up (docs/WEBHOOKS.md)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.config import Env, Settings
from lambdas.common.observability import logger, metrics
from lambdas.webhooks.delivery import Deliverer, DeliveryFailed, RetryPolicy
from lambdas.webhooks.store import SecretBox, WebhookStore
from lambdas.webhooks.urls import UrlPolicy

# Cold start: the settings are checked at import (a missing name fails the init); the deliverer
# and its boto3 clients are built on first use, once per container.
settings = Settings.from_env(require=(Env.TENANTS_TABLE_NAME, Env.WEBHOOK_KEY_ID, Env.WEBHOOK_QUEUE_URL))


@cache
def default_deliverer() -> tuple[Deliverer, Any, str]:
    """The deliverer, the SQS client and the delivery queue, built once per container."""
    return build_deliverer(settings), boto3.client("sqs"), settings.webhook_queue_url


def build_deliverer(settings: Settings, *, dynamodb: Any = None, kms: Any = None, **overrides: Any) -> Deliverer:
    options: dict[str, Any] = {
        "store": WebhookStore(settings.tenants_table, resource=dynamodb),
        "secrets": SecretBox(settings.webhook_key_id, client=kms),
        "policy": UrlPolicy(allow_loopback=settings.webhook_allow_loopback),
        "retry": RetryPolicy(
            first_delay_seconds=settings.webhook_first_retry_seconds,
            max_delay_seconds=settings.webhook_max_retry_seconds,
            window_seconds=settings.webhook_retry_window_seconds,
        ),
        "timeout_seconds": settings.webhook_timeout_seconds,
    }
    return Deliverer(**{**options, **overrides})


def process_batch(
    event: dict[str, Any], context: LambdaContext, deliverer: Deliverer, *, sqs: Any, queue_url: str
) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> None:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        try:
            deliverer.deliver(json.loads(record.body), receive_count=receive_count)
        except DeliveryFailed as failed:
            delay = deliverer.retry.backoff(receive_count)
            logger.info("webhook attempt failed", message_id=record.message_id, reason=str(failed), retry_in=delay)
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
            )
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deliverer, sqs, queue_url = default_deliverer()
    return process_batch(event, context, deliverer, sqs=sqs, queue_url=queue_url)
