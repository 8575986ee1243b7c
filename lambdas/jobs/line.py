"""The tenant's line: one turnstile per tenant, so that a tenant's imports apply one at a time,
in the order their uploads were accepted (docs/IMPORT.md, "One tenant at a time").

Stored in the jobs table, in the tenant's partition, beside its jobs:

| item | sk | holds |
|---|---|---|
| the line's counter | ``line`` | ``last``: the last ticket handed out |
| one entry per job in the line | ``line#<ticket, 12 digits>`` | ``referenceId`` |

and the job item gets ``ticket``. Entering is one transaction: the counter moves from the value
read to the next one, the entry is put and the job takes that ticket (only once: a job that has a
ticket keeps it). So tickets are handed out strictly in commit order, an entry is visible only
with every lower ticket already visible, and a duplicate S3 event cannot take a second place.

The head of the line (lowest ticket) holds the tenant's turn. It holds it while it runs, while it
waits in any non-terminal state (a ``HELD`` job keeps it), and passes it on only by ``leave``:
when the job reaches a terminal state or is taken out of the line (abort). The head can change
only by its own ``leave``: new entries always join at the tail.

Who calls what:
- ``enter``: the upload route once the file is stored (direct uploads: accepted = stored), and the
  importer when the file's S3 event arrives (presigned uploads: accepted = arrived; idempotent).
- ``turn``: the importer before it starts a job; the status route for ``queuePosition``.
- ``leave`` then ``TurnBell.ring(tenant)``: whoever ends a job or takes it out of the line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.jobs.model import JobStatus
from lambdas.jobs.store import JOB_RETENTION_SECONDS, PK, SK, TTL

LINE_SK = "line"
ENTRY_PREFIX = "line#"
TICKET_DIGITS = 12
TURN_MESSAGE_TYPE = "turn"
ENTER_ATTEMPTS = 10


def entry_sort_key(ticket: int) -> str:
    return f"{ENTRY_PREFIX}{ticket:0{TICKET_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a job stands: ``ahead`` = the tenant's imports ahead of it in the line (0: it holds
    the turn); ``head`` = the reference holding the turn. ``ahead`` is None when the job is not
    in the line."""

    ahead: int | None
    head: str | None = None
    head_ticket: int | None = None

    @property
    def mine(self) -> bool:
        return self.ahead == 0


class LineBusy(Exception):
    """The counter kept moving under us (many uploads of one tenant at once): try again later."""


class TenantLine:
    def __init__(self, table_name: str, *, resource: Any = None, clock: Callable[[], float] = time.time) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)
        self._table_name = table_name
        self._clock = clock

    def enter(self, *, tenant: str, reference_id: str) -> int | None:
        """Give the ``PENDING`` job its place at the end of the line; its ticket. Idempotent: a job
        already in line keeps its ticket. None when the job does not exist or is not ``PENDING``."""
        for _ in range(ENTER_ATTEMPTS):
            job = self._table.get_item(Key={PK: tenant, SK: reference_id}, ConsistentRead=True).get("Item")
            if job is None or "ticket" in job:
                return int(job["ticket"]) if job is not None else None
            if job["status"] != JobStatus.PENDING:
                return None
            counter = self._table.get_item(Key={PK: tenant, SK: LINE_SK}, ConsistentRead=True).get("Item")
            last = int((counter or {}).get("last", 0))  # the transaction's condition decides
            if self._take_ticket(tenant, reference_id, last):
                return last + 1
        raise LineBusy(f"the line of tenant {tenant} is busy")

    def _take_ticket(self, tenant: str, reference_id: str, last: int) -> bool:
        """One transaction: counter ``last`` → ``last + 1``, the entry, the job's ticket."""
        try:
            self._table.meta.client.transact_write_items(TransactItems=self._ticket_items(tenant, reference_id, last))
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                return False  # the counter moved, or the job changed: read both again
            raise
        return True

    def _ticket_items(self, tenant: str, reference_id: str, last: int) -> list[dict[str, Any]]:
        ticket = last + 1
        counter: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {PK: tenant, SK: LINE_SK},
            "UpdateExpression": "SET #last = :next",
        }
        if last == 0:  # the tenant's first import: the counter does not exist yet
            counter |= {
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PK, "#last": "last"},
                "ExpressionAttributeValues": {":next": ticket},
            }
        else:
            counter |= {
                "ConditionExpression": "#last = :last",
                "ExpressionAttributeNames": {"#last": "last"},
                "ExpressionAttributeValues": {":next": ticket, ":last": last},
            }
        entry = {PK: tenant, SK: entry_sort_key(ticket), "referenceId": reference_id, "ticket": ticket}
        entry[TTL] = int(self._clock()) + JOB_RETENTION_SECONDS
        job = {
            "TableName": self._table_name,
            "Key": {PK: tenant, SK: reference_id},
            "UpdateExpression": "SET ticket = :ticket",
            "ConditionExpression": "attribute_exists(#pk) AND attribute_not_exists(ticket) AND #s = :pending",
            "ExpressionAttributeNames": {"#pk": PK, "#s": "status"},
            "ExpressionAttributeValues": {":ticket": ticket, ":pending": JobStatus.PENDING.value},
        }
        put = {
            "TableName": self._table_name,
            "Item": entry,
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PK},
        }
        return [{"Update": counter}, {"Put": put}, {"Update": job}]

    def entries(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's line, head first: ``{"referenceId", "ticket"}`` per job."""
        entries: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key(PK).eq(tenant) & Key(SK).begins_with(ENTRY_PREFIX),
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**query)
            entries += [{"referenceId": str(i["referenceId"]), "ticket": int(i["ticket"])} for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return entries
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def head(self, tenant: str) -> str | None:
        """The reference holding the tenant's turn, or None when the line is empty."""
        page = self._table.query(
            KeyConditionExpression=Key(PK).eq(tenant) & Key(SK).begins_with(ENTRY_PREFIX),
            ConsistentRead=True,
            Limit=1,
        )
        return str(page["Items"][0]["referenceId"]) if page["Items"] else None

    def turn(self, *, tenant: str, reference_id: str) -> Turn:
        """How many of the tenant's imports are ahead of ``reference_id``, and who holds the turn."""
        line = self.entries(tenant)
        head, head_ticket = (line[0]["referenceId"], line[0]["ticket"]) if line else (None, None)
        for ahead, entry in enumerate(line):
            if entry["referenceId"] == reference_id:
                return Turn(ahead=ahead, head=head, head_ticket=head_ticket)
        return Turn(ahead=None, head=head, head_ticket=head_ticket)

    def leave(self, *, tenant: str, reference_id: str, ticket: int | None = None) -> None:
        """Take the job out of the line (idempotent); the turn passes to the next entry. Call it
        once the job is terminal or removed from the line, then ``TurnBell.ring`` so the next
        job starts. ``ticket`` defaults to the one stored on the job."""
        if ticket is None:
            job = self._table.get_item(Key={PK: tenant, SK: reference_id}, ConsistentRead=True).get("Item")
            if job is None or "ticket" not in job:
                return
            ticket = int(job["ticket"])
        try:
            self._table.delete_item(
                Key={PK: tenant, SK: entry_sort_key(ticket)},
                ConditionExpression="attribute_not_exists(#pk) OR referenceId = :ref",
                ExpressionAttributeNames={"#pk": PK},
                ExpressionAttributeValues={":ref": reference_id},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def turn_message(tenant: str, reference_id: str, *, check: str | None = None) -> str:
    """The queue message that asks the importer to look at the job's place in the line again
    (start it when it holds the turn). ``check`` marks a job's re-check chain (see the importer)."""
    body: dict[str, Any] = {"type": TURN_MESSAGE_TYPE, "tenant": tenant, "referenceId": reference_id}
    if check is not None:
        body["check"] = check
    return json.dumps(body)


class TurnBell:
    """Wakes the job that holds a tenant's turn: one message on the import queue. Ring it after
    ``leave``; ringing twice or for nobody is harmless."""

    def __init__(self, line: TenantLine, queue_url: str, *, client: Any = None) -> None:
        self._line = line
        self._queue_url = queue_url
        self._sqs = client or boto3.client("sqs")

    def ring(self, tenant: str) -> str | None:
        """Send the turn message of the tenant's head, if any; the reference woken."""
        head = self._line.head(tenant)
        if head is not None:
            self.send(tenant, head)
        return head

    def send(self, tenant: str, reference_id: str, *, check: str | None = None, delay_seconds: int = 0) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=turn_message(tenant, reference_id, check=check),
            DelaySeconds=delay_seconds,
        )
