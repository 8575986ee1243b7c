"""What the import queue carries: S3 event notifications for uploads, and the chunk messages the
importer sends itself when it fans a big file out (both arrive on IMPORT_QUEUE_URL)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import boto3

from lambdas.common.observability import logger
from lambdas.jobs.objects import pending_reference, source_key

CHUNK_MESSAGE_TYPE = "chunk"
HOLD_MESSAGE_TYPE = "hold"
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds
SQS_BATCH_LIMIT = 10


@dataclass(frozen=True, slots=True)
class UploadArrived:
    """An object under ``import-csv/pending/``; ``key`` is already URL-decoded."""

    key: str

    @property
    def reference_id(self) -> str:
        reference_id = pending_reference(self.key)
        assert reference_id is not None  # parse_body keeps pending keys only
        return reference_id


@dataclass(frozen=True, slots=True)
class ChunkReady:
    tenant: str
    reference_id: str
    chunk: int

    def body(self) -> str:
        return json.dumps(
            {"type": CHUNK_MESSAGE_TYPE, "tenant": self.tenant, "referenceId": self.reference_id, "chunk": self.chunk}
        )


@dataclass(frozen=True, slots=True)
class HoldDue:
    """Look at a ``HELD`` job again: end it ``DISCARDED`` once its 72 hours are over, else check
    again later. ``check`` is the job's one live check chain (``holdCheck`` on the job)."""

    tenant: str
    reference_id: str
    check: str

    def body(self) -> str:
        return json.dumps(
            {"type": HOLD_MESSAGE_TYPE, "tenant": self.tenant, "referenceId": self.reference_id, "check": self.check}
        )


Message = UploadArrived | ChunkReady | HoldDue


def parse_body(body: str) -> list[Message]:
    """The work in one SQS message body. An ``s3:TestEvent``, another event or a key outside
    ``import-csv/pending/*.csv`` is no work (logged); a body that is not JSON raises."""
    data: dict[str, Any] = json.loads(body)
    if data.get("type") == CHUNK_MESSAGE_TYPE:
        return [ChunkReady(tenant=str(data["tenant"]), reference_id=str(data["referenceId"]), chunk=int(data["chunk"]))]
    if data.get("type") == HOLD_MESSAGE_TYPE:
        return [HoldDue(tenant=str(data["tenant"]), reference_id=str(data["referenceId"]), check=str(data["check"]))]
    if "Records" not in data:
        logger.info("queue message without records ignored", event=data.get("Event"))
        return []
    messages: list[Message] = []
    for record in data["Records"]:
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            logger.info("s3 record ignored", event_name=record.get("eventName"))
            continue
        key = unquote_plus(record["s3"]["object"]["key"])
        if pending_reference(key) is None:
            logger.info("s3 key outside the pending uploads ignored", key=key)
            continue
        messages.append(UploadArrived(key=key))
    return messages


def wake_message(tenant: str, reference_id: str) -> str:
    """A message that makes the importer look at a job again (an approved job starts): the S3
    notification of its pending file, which every importer attempt handles idempotently."""
    key = source_key(reference_id)
    record = {"eventName": "ObjectCreated:Approved", "s3": {"object": {"key": key}}, "tenant": tenant}
    return json.dumps({"Records": [record]})


class ChunkQueue:
    """Sends chunk messages to the import queue."""

    def __init__(self, queue_url: str, *, client: Any = None) -> None:
        self._queue_url = queue_url
        self._sqs = client or boto3.client("sqs")

    def send(self, messages: Iterable[ChunkReady]) -> None:
        batch: list[ChunkReady] = []
        for message in messages:
            batch.append(message)
            if len(batch) == SQS_BATCH_LIMIT:
                self._send_batch(batch)
                batch = []
        if batch:
            self._send_batch(batch)

    def send_later(self, message: HoldDue, *, delay_seconds: int) -> None:
        """One message, delivered after ``delay_seconds`` (at most SQS's 900)."""
        delay = max(0, min(delay_seconds, MAX_DELAY_SECONDS))
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message.body(), DelaySeconds=delay)

    def _send_batch(self, batch: list[ChunkReady]) -> None:
        entries = [{"Id": str(i), "MessageBody": message.body()} for i, message in enumerate(batch)]
        response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"{len(response['Failed'])} chunk messages were not sent")
