"""Lambda's SQS event source mapping, emulated: poll the import queue, invoke the importer with
real SQS events on a worker pool, delete what succeeded and leave partial batch failures to be
received again after the visibility timeout (moto moves them to the DLQ after maxReceiveCount)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lambdas.common.observability import logger
from local.gateway import Handler, LocalContext


class QueuePump:
    def __init__(
        self, sqs: Any, queue_url: str, queue_arn: str, handler: Handler, *, workers: int = 2, name: str = "importer"
    ) -> None:
        self._name = name
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._handler = handler
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
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
                ).get("Messages", [])
            except Exception:  # the pump outlives a hiccup of the emulated queue
                logger.exception("receive failed")
                messages = []
            if messages:
                self._pool.submit(self._invoke, messages)
            else:
                self._slots.release()

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [self._record(message) for message in messages]}
            try:
                result = self._handler(event, LocalContext(self._name, timeout_seconds=300))
                failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
            except Exception:  # a crashed invocation: every message comes back, as on AWS
                logger.exception("invocation failed", function=self._name)
                return
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
        finally:
            self._slots.release()

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
