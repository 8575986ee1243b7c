"""Jobs table access: one item per job (pk = tenant, sk = referenceId) plus one marker item per
recorded import chunk (sk = "<referenceId>#chunk#<n>").

Every state change is a conditional write, so a duplicate or late writer changes nothing; the
lifecycle and why it is safe are described in docs/IMPORT.md.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.common.schema import JOBS_BY_ACCEPTANCE, JOBS_TABLE
from lambdas.jobs.model import ABORTABLE_STATUSES, SUMMARY_FIELDS, UPLOAD_NOT_RECEIVED, JobStatus, utc_now_iso

PK, SK, TTL = JOBS_TABLE.partition_key, JOBS_TABLE.sort_key or "sk", JOBS_TABLE.ttl_attribute or "ttl"
LIST_KEY = JOBS_BY_ACCEPTANCE.sort_key
JOB_RETENTION_SECONDS = 30 * 24 * 3600
STATUS_NAME = {"#s": "status"}  # the expression name of a job's status ("status" is a reserved word)
CHUNK_MARKER = "#chunk#"

# Running totals that chunks ADD to; copied into ``summary`` when the job finishes.
TALLY = {name: f"tally_{name}" for name in SUMMARY_FIELDS}


def list_key(reference_id: str, *, at_ns: int | None = None) -> str:
    """The job's place in the imports list: acceptance time in microseconds, then the reference
    (two jobs accepted in the same microsecond still have one order)."""
    micros = (time.time_ns() if at_ns is None else at_ns) // 1000
    return f"{micros:016d}#{reference_id}"


class LeaseLost(Exception):
    """Another attempt took the job over (or finished it): this attempt must stop writing."""


def chunk_sort_key(reference_id: str, chunk: int) -> str:
    return f"{reference_id}{CHUNK_MARKER}{chunk}"


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class JobStore:
    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)
        self._table_name = table_name

    def create_pending(
        self,
        *,
        tenant: str,
        reference_id: str,
        file_name: str,
        dry_run: bool,
        upload_deadline: int,
        source: str,
        change_threshold: Decimal | None = None,
    ) -> dict[str, Any]:
        """Write the ``PENDING`` job before its file is stored. ``upload_deadline`` (epoch seconds)
        is when a job whose file never arrived reads as ``FAILED``. Fails if the id exists."""
        now = int(time.time())
        item: dict[str, Any] = {
            PK: tenant,
            SK: reference_id,
            "referenceId": reference_id,
            "status": JobStatus.PENDING.value,
            "fileName": file_name,
            "template": None,
            "dryRun": dry_run,
            "createdAt": utc_now_iso(),
            "source": source,
            "uploadDeadline": upload_deadline,
            LIST_KEY: list_key(reference_id),
            TTL: now + JOB_RETENTION_SECONDS,
        }
        if change_threshold is not None:
            item["changeThreshold"] = change_threshold
        self._table.put_item(
            Item=item, ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames={"#pk": PK}
        )
        return item

    def delete_pending(self, *, tenant: str, reference_id: str) -> None:
        """Compensation when the file could not be stored: remove the job if still ``PENDING``."""
        try:
            self._table.delete_item(
                Key={PK: tenant, SK: reference_id},
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames=STATUS_NAME,
                ExpressionAttributeValues={":pending": JobStatus.PENDING.value},
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise

    def get(self, *, tenant: str, reference_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={PK: tenant, SK: reference_id}, ConsistentRead=True).get("Item")
        return item

    def list_page(
        self, *, tenant: str, status: str | None, limit: int, after: Mapping[str, str] | None
    ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """Up to ``limit`` of the tenant's jobs, newest accepted first, with ``status`` if given,
        starting after the job ``after`` (``{"sk", "listKey"}``). A Query of the acceptance index
        (never a Scan); with a status filter it reads on until ``limit`` jobs matched. The second
        value is where the next page starts, None at the end."""
        query: dict[str, Any] = {
            "IndexName": JOBS_BY_ACCEPTANCE.name,
            "KeyConditionExpression": Key(JOBS_BY_ACCEPTANCE.partition_key).eq(tenant),
            "ScanIndexForward": False,
        }
        if status is not None:
            query["FilterExpression"] = "#s = :status"
            query["ExpressionAttributeNames"] = STATUS_NAME
            query["ExpressionAttributeValues"] = {":status": status}
        if after is not None:
            query["ExclusiveStartKey"] = {PK: tenant, SK: after[SK], LIST_KEY: after[LIST_KEY]}
        jobs: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**query, Limit=limit + 1 - len(jobs))
            jobs += page["Items"]
            if len(jobs) > limit:
                jobs = jobs[:limit]
                return jobs, {SK: str(jobs[-1][SK]), LIST_KEY: str(jobs[-1][LIST_KEY])}
            if "LastEvaluatedKey" not in page:
                return jobs, None
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_arrived(self, *, tenant: str, reference_id: str) -> None:
        """A presigned upload's file arrived: from now on it counts as accepted (docs/IMPORT.md),
        so it moves to this moment in the imports list. Only the first arrival counts."""
        self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET arrived = :yes, #list = :list",
            ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(arrived)",
            ExpressionAttributeNames={"#pk": PK, "#list": LIST_KEY},
            ExpressionAttributeValues={":yes": True, ":list": list_key(reference_id)},
        )

    def abort(self, *, tenant: str, reference_id: str) -> dict[str, Any] | None:
        """``PENDING`` or ``HELD`` → ``ABORTED``; None when the job is in another state (or gone).
        The conditional write is what makes abort safe against the importer's claim."""
        pending, held = sorted(status.value for status in ABORTABLE_STATUSES)
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :aborted, finishedAt = :iso, summary = if_not_exists(summary, :zero), "
            "errors = if_not_exists(errors, :none), warnings = if_not_exists(warnings, :none) REMOVE leaseUntil",
            ConditionExpression="#s IN (:a, :b)",
            ExpressionAttributeValues={
                ":aborted": JobStatus.ABORTED.value,
                ":a": pending,
                ":b": held,
                ":iso": utc_now_iso(),
                ":zero": dict.fromkeys(SUMMARY_FIELDS, 0),
                ":none": [],
            },
        )

    def hold(
        self,
        *,
        tenant: str,
        reference_id: str,
        attempt: str,
        template: str,
        summary: Mapping[str, int],
        errors: Sequence[Mapping[str, Any]],
        warnings: Sequence[Mapping[str, Any]],
        hold_until: int,
        check: str,
    ) -> dict[str, Any] | None:
        """The lease holder stops the job ``HELD`` with its planned counts (nothing was written);
        ``hold_until`` (epoch seconds) is when it ends ``DISCARDED`` unanswered; ``check`` names
        the one live chain of messages that looks at it until then."""
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :held, template = :template, summary = :summary, errors = :errors, "
            "warnings = :warnings, heldAt = :iso, holdUntil = :until, holdCheck = :check REMOVE leaseUntil, attempt",
            ConditionExpression="#s = :processing AND attempt = :attempt",
            ExpressionAttributeValues={
                ":held": JobStatus.HELD.value,
                ":processing": JobStatus.PROCESSING.value,
                ":attempt": attempt,
                ":template": template,
                **_outcome(summary, errors, warnings),
                ":iso": utc_now_iso(),
                ":until": hold_until,
                ":check": check,
            },
        )

    def pass_hold_check(self, *, tenant: str, reference_id: str, check: str, following: str) -> bool:
        """Hand the held job's check chain from ``check`` to ``following``; False when the job is
        no longer ``HELD`` or another chain owns it (the message carrying ``check`` is dropped)."""
        return (
            self._update_if(
                tenant,
                reference_id,
                UpdateExpression="SET holdCheck = :following",
                ConditionExpression="#s = :held AND holdCheck = :check",
                ExpressionAttributeValues={":held": JobStatus.HELD.value, ":check": check, ":following": following},
            )
            is not None
        )

    def approve(self, *, tenant: str, reference_id: str, now: int) -> dict[str, Any] | None:
        """``HELD`` (not yet expired) → ``PENDING``, approved: the importer plans the same file
        again and applies it without holding it. None when the job is not such a job."""
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :pending, approved = :yes, approvedAt = :iso REMOVE holdUntil",
            ConditionExpression="#s = :held AND holdUntil >= :now",
            ExpressionAttributeValues={
                ":pending": JobStatus.PENDING.value,
                ":held": JobStatus.HELD.value,
                ":yes": True,
                ":iso": utc_now_iso(),
                ":now": now,
            },
        )

    def discard(self, *, tenant: str, reference_id: str, expired_before: int | None = None) -> dict[str, Any] | None:
        """``HELD`` → ``DISCARDED``, nothing written. With ``expired_before`` only a hold that ran
        out before that time (the 72-hour expiry). None when the job is not such a job."""
        condition, values = "#s = :held", {}
        if expired_before is not None:
            condition, values = "#s = :held AND holdUntil < :now", {":now": expired_before}
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :discarded, finishedAt = :iso",
            ConditionExpression=condition,
            ExpressionAttributeValues={
                ":discarded": JobStatus.DISCARDED.value,
                ":held": JobStatus.HELD.value,
                ":iso": utc_now_iso(),
                **values,
            },
        )

    def ensure_pending(
        self,
        *,
        tenant: str,
        reference_id: str,
        file_name: str,
        dry_run: bool,
        source: str,
        now: int,
        change_threshold: Decimal | None = None,
    ) -> bool:
        """Recreate the ``PENDING`` job of a stored object whose job record is missing (the object's
        metadata is the source of truth, the upload's ``changeThreshold`` included; its file is
        here, so its upload deadline is ``now``). Returns False when a job already exists."""
        try:
            self.create_pending(
                tenant=tenant,
                reference_id=reference_id,
                file_name=file_name,
                dry_run=dry_run,
                upload_deadline=now,
                source=source,
                change_threshold=change_threshold,
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def claim(
        self, *, tenant: str, reference_id: str, attempt: str, now: int, lease_seconds: int
    ) -> dict[str, Any] | None:
        """Start (``PENDING``) or take over (``PROCESSING``, lease expired, work not yet handed to
        chunk messages) the job for ``attempt``. None when the job is not claimable."""
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :processing, startedAt = if_not_exists(startedAt, :iso), "
            "leaseUntil = :lease, attempt = :attempt",
            ConditionExpression="attribute_exists(#pk) AND (#s = :pending OR "
            "(#s = :processing AND leaseUntil < :now AND attribute_not_exists(dispatched)))",
            ExpressionAttributeNames={**STATUS_NAME, "#pk": PK},
            ExpressionAttributeValues={
                ":processing": JobStatus.PROCESSING.value,
                ":pending": JobStatus.PENDING.value,
                ":iso": utc_now_iso(),
                ":lease": now + lease_seconds,
                ":attempt": attempt,
                ":now": now,
            },
        )

    def set_line_check(self, *, tenant: str, reference_id: str, token: str, previous: str | None) -> bool:
        """Make ``token`` the waiting job's one live re-check chain (``previous``: the chain it
        continues, None to start a new one). False when the job no longer waits or another chain
        took over; the message carrying ``token`` is then dropped on arrival."""
        condition = "#s = :pending" + ("" if previous is None else " AND lineCheck = :previous")
        values = {":token": token, ":pending": JobStatus.PENDING.value}
        if previous is not None:
            values[":previous"] = previous
        return (
            self._update_if(
                tenant,
                reference_id,
                UpdateExpression="SET lineCheck = :token",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
            is not None
        )

    def record_plan(
        self,
        *,
        tenant: str,
        reference_id: str,
        attempt: str,
        template: str,
        chunks_total: int,
        fan_out: bool,
        file_warnings: Sequence[Mapping[str, Any]],
    ) -> None:
        """Record the planning pass of the lease holder: template, chunk count, header warnings."""
        self._update_as_holder(
            tenant,
            reference_id,
            attempt,
            "SET template = :template, chunksTotal = :total, fanOut = :fan_out, fileWarnings = :warnings, "
            "chunksDone = if_not_exists(chunksDone, :zero)",
            {
                ":template": template,
                ":total": chunks_total,
                ":fan_out": fan_out,
                ":warnings": [dict(w) for w in file_warnings],
                ":zero": 0,
            },
        )

    def mark_dispatched(self, *, tenant: str, reference_id: str, attempt: str) -> None:
        """Every chunk message is sent: from now on the chunk messages carry the work."""
        self._update_as_holder(tenant, reference_id, attempt, "SET dispatched = :yes", {":yes": True})

    def record_failure(self, *, tenant: str, reference_id: str, attempt: str, issue: Mapping[str, Any]) -> None:
        """Remember the file-level problem before acting on it, so a takeover ends the same way."""
        self._update_as_holder(tenant, reference_id, attempt, "SET failure = :issue", {":issue": dict(issue)})

    def _update_as_holder(
        self, tenant: str, reference_id: str, attempt: str, expression: str, values: dict[str, Any]
    ) -> None:
        try:
            self._table.update_item(
                Key={PK: tenant, SK: reference_id},
                UpdateExpression=expression,
                ConditionExpression="#s = :processing AND attempt = :attempt",
                ExpressionAttributeNames=STATUS_NAME,
                ExpressionAttributeValues={**values, ":processing": JobStatus.PROCESSING.value, ":attempt": attempt},
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise LeaseLost(reference_id) from error
            raise

    def record_chunk(
        self, *, tenant: str, reference_id: str, chunk: int, counts: Mapping[str, int], result_key: str
    ) -> bool:
        """Record one chunk's result exactly once: the marker item and the ADD of its counts to the
        job commit together. False when the chunk was recorded before (or the job is not running)."""
        adds = ", ".join(f"{TALLY[name]} :{name}" for name in SUMMARY_FIELDS)
        values = {f":{name}": int(counts.get(name, 0)) for name in SUMMARY_FIELDS}
        marker = {
            PK: tenant,
            SK: chunk_sort_key(reference_id, chunk),
            "chunk": chunk,
            "resultKey": result_key,
            **{name: int(counts.get(name, 0)) for name in SUMMARY_FIELDS},
            TTL: int(time.time()) + JOB_RETENTION_SECONDS,
        }
        try:
            # The resource's client takes plain Python values (boto3 serializes them).
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table_name,
                            "Item": marker,
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": {"#pk": PK},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table_name,
                            "Key": {PK: tenant, SK: reference_id},
                            "UpdateExpression": f"ADD chunksDone :one, {adds}",
                            "ConditionExpression": "#s = :processing",
                            "ExpressionAttributeNames": STATUS_NAME,
                            "ExpressionAttributeValues": {
                                **values,
                                ":one": 1,
                                ":processing": JobStatus.PROCESSING.value,
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if _only_conditions_failed(error):
                return False
            raise
        return True

    def chunk_result_keys(self, *, tenant: str, reference_id: str) -> list[str]:
        """The result object of every recorded chunk, in chunk (= row) order."""
        markers = sorted(self._markers(tenant, reference_id), key=lambda m: int(m["chunk"]))
        return [str(m["resultKey"]) for m in markers]

    def recorded_chunks(self, *, tenant: str, reference_id: str) -> set[int]:
        return {int(m["chunk"]) for m in self._markers(tenant, reference_id)}

    def _markers(self, tenant: str, reference_id: str) -> list[dict[str, Any]]:
        markers: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key(PK).eq(tenant) & Key(SK).begins_with(f"{reference_id}{CHUNK_MARKER}"),
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**query)
            markers.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return markers
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def finish(
        self,
        *,
        tenant: str,
        reference_id: str,
        status: JobStatus,
        summary: Mapping[str, int],
        errors: Sequence[Mapping[str, Any]],
        warnings: Sequence[Mapping[str, Any]],
        attempt: str | None = None,
    ) -> dict[str, Any] | None:
        """Write the terminal state exactly once. With ``attempt`` (a file-level failure) only the
        lease holder may; without, only once every chunk is recorded. None if the write lost."""
        if attempt is None:
            condition, guard = "#s = :processing AND chunksDone = chunksTotal", {}
        else:
            condition, guard = "#s = :processing AND attempt = :attempt", {":attempt": attempt}
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :status, finishedAt = :iso, summary = :summary, errors = :errors, "
            "warnings = :warnings REMOVE leaseUntil",
            ConditionExpression=condition,
            ExpressionAttributeValues={
                ":status": status.value,
                ":processing": JobStatus.PROCESSING.value,
                ":iso": utc_now_iso(),
                **_outcome(summary, errors, warnings),
                **guard,
            },
        )

    def abandon(
        self,
        *,
        tenant: str,
        reference_id: str,
        summary: Mapping[str, int],
        errors: Sequence[Mapping[str, Any]],
        warnings: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any] | None:
        """``FAILED`` for a job whose message failed after every retry, from ``PENDING`` or
        ``PROCESSING`` whoever holds it. None if the job already ended (or waits for approval)."""
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :failed, finishedAt = :iso, summary = :summary, errors = :errors, "
            "warnings = :warnings REMOVE leaseUntil",
            ConditionExpression="#s IN (:pending, :processing)",
            ExpressionAttributeValues={
                ":failed": JobStatus.FAILED.value,
                ":pending": JobStatus.PENDING.value,
                ":processing": JobStatus.PROCESSING.value,
                ":iso": utc_now_iso(),
                **_outcome(summary, errors, warnings),
            },
        )

    def expire_pending(self, *, tenant: str, reference_id: str, now: int) -> dict[str, Any] | None:
        """Turn a ``PENDING`` job past its upload deadline into ``FAILED`` / UPLOAD_NOT_RECEIVED.
        The caller has checked that the file is not stored. None if the job is not such a job."""
        error = {
            "row": 0,
            "column": None,
            "code": UPLOAD_NOT_RECEIVED,
            "message": "The file was not received before the upload deadline.",
        }
        return self._update_if(
            tenant,
            reference_id,
            UpdateExpression="SET #s = :failed, finishedAt = :iso, summary = :summary, errors = :errors, "
            "warnings = :none",
            ConditionExpression="#s = :pending AND uploadDeadline < :now",
            ExpressionAttributeValues={
                ":failed": JobStatus.FAILED.value,
                ":pending": JobStatus.PENDING.value,
                ":iso": utc_now_iso(),
                ":summary": dict.fromkeys(SUMMARY_FIELDS, 0),
                ":errors": [error],
                ":none": [],
                ":now": now,
            },
        )

    def _update_if(self, tenant: str, reference_id: str, **update: Any) -> dict[str, Any] | None:
        """A conditional update of the job (``#s`` names its status unless ``update`` names other
        attributes): its new attributes, or None when the condition failed."""
        update.setdefault("ExpressionAttributeNames", STATUS_NAME)
        try:
            response = self._table.update_item(Key={PK: tenant, SK: reference_id}, ReturnValues="ALL_NEW", **update)
        except ClientError as error:
            if _is_conditional_failure(error):
                return None
            raise
        item: dict[str, Any] = response["Attributes"]
        return item


def _outcome(
    summary: Mapping[str, int], errors: Sequence[Mapping[str, Any]], warnings: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The values of an update that records what an import found (``:summary``, ``:errors``, ``:warnings``)."""
    return {
        ":summary": {name: int(summary.get(name, 0)) for name in SUMMARY_FIELDS},
        ":errors": [dict(e) for e in errors],
        ":warnings": [dict(w) for w in warnings],
    }


def _only_conditions_failed(error: ClientError) -> bool:
    """A cancelled transaction whose items failed their conditions only (no throttling, no conflict)."""
    reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
    return error.response["Error"]["Code"] == "TransactionCanceledException" and reasons <= {
        "None",
        "ConditionalCheckFailed",
    }
