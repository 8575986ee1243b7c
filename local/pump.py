"""Lambda's SQS event source mapping, emulated as strictly as AWS runs it: poll a queue for at most
the mapping's batch size, invoke the function with real SQS events (its context carries the
function's timeout) on a worker pool, delete what succeeded and leave the rest to be received again
after the queue's visibility timeout (moto moves it to the DLQ after maxReceiveCount). Batch size,
partial batch responses and timeouts come from the queue's ``lambdas.common.schema.QueueSpec``, the
same spec the CDK stack builds the mapping from."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lambdas.common.observability import logger
from lambdas.common.schema import QueueSpec
from local.gateway import Handler, LocalContext


class QueuePump:
    def __init__(self, sqs: Any, spec: QueueSpec, handler: Handler, *, workers: int = 2) -> None:
        self.consumer = spec.reader()
        self._sqs = sqs
        self._queue_url = sqs.get_queue_url(QueueName=spec.local_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self._queue_arn = attributes["QueueArn"]
        self._handler = handler
        name = self.consumer.function
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._slots = threading.Semaphore(workers)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._slots.acquire()
            messages = self.receive()
            if messages:
                self._pool.submit(self._invoke, messages)
            else:
                self._slots.release()

    def receive(self) -> list[dict[str, Any]]:
        """One poll: at most the mapping's batch size, as Lambda's poller asks SQS."""
        try:
            messages: list[dict[str, Any]] = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=self.consumer.batch_size,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
            ).get("Messages", [])
        except Exception:  # the pump outlives a hiccup of the emulated queue
            logger.exception("receive failed")
            return []
        return messages

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        try:
            self.invoke(messages)
        finally:
            self._slots.release()

    def invoke(self, messages: list[dict[str, Any]]) -> None:
        """Run the function on one batch and delete the messages Lambda would delete."""
        event = {"Records": [self._record(message) for message in messages]}
        context = LocalContext(self.consumer.function, timeout_seconds=self.consumer.timeout_seconds)
        try:
            result = self._handler(event, context)
        except Exception:  # a crashed invocation: every message comes back, as on AWS
            logger.exception("invocation failed", function=self.consumer.function)
            return
        done = self._succeeded(messages, result)
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def _succeeded(self, messages: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
        if not self.consumer.report_batch_item_failures:  # Lambda ignores the answer: all succeeded
            return messages
        failed = failed_ids(result, {m["MessageId"] for m in messages})
        if failed is None:
            logger.error("invalid partial batch response: the whole batch failed", function=self.consumer.function)
            return []
        return [m for m in messages if m["MessageId"] not in failed]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": "us-east-1",
        }


def failed_ids(result: Any, batch: set[str]) -> set[str] | None:
    """The messages a partial batch response names as failed, or None where Lambda counts the whole
    batch as failed: a response that is not an object, or an ``itemIdentifier`` that is missing, not
    a string, empty or not the id of a message in the batch. No response, or an empty or null
    ``batchItemFailures``, is a complete success (AWS Lambda docs, "Handling errors for an SQS event
    source": services-sqs-errorhandling)."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return None
    items = result.get("batchItemFailures") or []
    if not isinstance(items, list):
        return None
    failed = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in items}
    if not all(isinstance(identifier, str) and identifier in batch for identifier in failed):
        return None
    return {str(identifier) for identifier in failed}
