"""Dead-letter Lambda: SQS batches from the import queue's DLQ. Each message failed on the
import queue after every retry; its job ends ``FAILED`` / ``IMPORT_FAILED`` (``Importer.abandon``),
so no job stays ``PROCESSING`` past its lease plus retries and the tenant's line moves on."""

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
from lambdas.importer.pipeline import Importer

settings = Settings.from_env(require=wiring.REQUIRED)


def process_batch(event: dict[str, Any], context: LambdaContext, importer: Importer) -> PartialItemFailureResponse:
    """One DLQ batch through ``importer.abandon``; a record that fails here is delivered again."""

    def record_handler(record: SQSRecord) -> None:
        try:
            messages = parse_body(record.body)
        except (ValueError, KeyError):
            logger.error("dead letter that is not an import message dropped", message_id=record.message_id)
            return
        for message in messages:
            importer.abandon(message)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_batch(event, context, wiring.importer_for(settings))
