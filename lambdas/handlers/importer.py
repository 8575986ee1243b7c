"""Importer Lambda: SQS batches of S3 upload events and chunk messages, partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.config import Settings
from lambdas.common.observability import logger, metrics
from lambdas.importer import wiring
from lambdas.importer.messages import parse_body
from lambdas.importer.pipeline import Importer, RetryLater

# Cold start: the settings are checked at import (a missing name fails the init); the importer
# and its boto3 clients are built on first use, once per container.
settings = Settings.from_env(require=wiring.REQUIRED)


def process_batch(event: dict[str, Any], context: LambdaContext, importer: Importer) -> PartialItemFailureResponse:
    """One SQS batch through ``importer``; the answer lists the records SQS must deliver again."""

    def record_handler(record: SQSRecord) -> None:
        try:
            for message in parse_body(record.body):
                importer.handle(message)
        except RetryLater as deferred:
            logger.info("message deferred", message_id=record.message_id, reason=str(deferred))
            raise
        except Exception:
            logger.exception("message failed", message_id=record.message_id)
            raise

    # One processor per batch (it holds the batch's state); a failed record is reported back and
    # redelivered by SQS, even when every record of the batch failed.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_batch(event, context, wiring.importer_for(settings))
