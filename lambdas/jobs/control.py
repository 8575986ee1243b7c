"""Job control for a tenant (docs/JOB_CONTROL.md): the imports list, abort, and approve or discard of
a ``HELD`` import.

Every state change is one conditional write in the jobs table (``JobStore``), so two callers (or a
caller and the importer, or a caller and the 72-hour expiry) racing on one job have exactly one
winner: the loser sees the state the winner wrote and answers 409 ``INVALID_STATE``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.common.errors import InvalidState, MalformedRequest, NotFound
from lambdas.common.observability import logger
from lambdas.jobs.events import JobEvents
from lambdas.jobs.line import TenantLine
from lambdas.jobs.model import REFERENCE_ID, JobStatus, is_terminal, list_view
from lambdas.jobs.objects import JobFiles
from lambdas.jobs.store import LIST_KEY, SK, JobStore

DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 200


def encode_token(position: Mapping[str, str]) -> str:
    """An opaque ``nextToken``: where the next page starts (URL-safe, no padding)."""
    raw = json.dumps({"r": position[SK], "k": position[LIST_KEY]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> dict[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        reference_id, key = data["r"], data["k"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise MalformedRequest("nextToken is not a token this API returned.") from None
    if not isinstance(reference_id, str) or not isinstance(key, str) or not REFERENCE_ID.fullmatch(reference_id):
        raise MalformedRequest("nextToken is not a token this API returned.")
    return {SK: reference_id, LIST_KEY: key}


def parse_list_query(params: Mapping[str, str] | None) -> tuple[str | None, int, dict[str, str] | None]:
    """``status``, ``limit`` and ``nextToken`` of the imports list (``routes.IMPORTS``): an unknown status or a
    limit that is not a positive integer is 400; a limit above 200 is served as 200."""
    params = params or {}
    status = params.get("status") or None
    if status is not None and status not in JobStatus.__members__:
        raise MalformedRequest(f"status must be one of {', '.join(JobStatus)}; got {status!r}.")
    raw_limit = params.get("limit")
    limit = DEFAULT_LIST_LIMIT
    if raw_limit:
        if not raw_limit.isdecimal() or int(raw_limit) < 1:
            raise MalformedRequest(f"limit must be a positive integer (at most {MAX_LIST_LIMIT}); got {raw_limit!r}.")
        limit = min(int(raw_limit), MAX_LIST_LIMIT)
    token = params.get("nextToken")
    return status, limit, decode_token(token) if token else None


def settle_unimported(files: JobFiles, events: JobEvents, tenant: str, job: Mapping[str, Any], previous: str) -> None:
    """After a job ended without importing (discarded, expired, aborted): its file to
    ``failed/``, then the event of its new state."""
    files.move_source(str(job["referenceId"]), "failed")
    events.status_changed(job, tenant=tenant, previous=previous)


Wake = Callable[[str, str], None]
"""Ask the importer to look at a job again (tenant, referenceId): an approved job starts."""


class JobControl:
    def __init__(
        self,
        *,
        jobs: JobStore,
        files: JobFiles,
        events: JobEvents,
        line: TenantLine,
        wake: Wake,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jobs = jobs
        self._files = files
        self._events = events
        self._line = line
        self._wake = wake
        self._clock = clock

    def list_imports(
        self, *, tenant: str, status: str | None, limit: int, after: Mapping[str, str] | None
    ) -> dict[str, Any]:
        jobs, next_position = self._jobs.list_page(tenant=tenant, status=status, limit=limit, after=after)
        ahead = {entry["referenceId"]: n for n, entry in enumerate(self._line.entries(tenant))}
        return {
            "imports": [
                list_view(job, queue_position=None if is_terminal(job) else ahead.get(job["referenceId"]))
                for job in jobs
            ],
            "nextToken": encode_token(next_position) if next_position is not None else None,
        }

    def approve(self, *, tenant: str, reference_id: str) -> dict[str, Any]:
        """``HELD`` → ``PENDING`` (approved): the importer plans the same file again against the
        roster as it is now and applies it, without holding it again. 409 unless ``HELD``."""
        job = self.job(tenant, reference_id)
        approved = self._jobs.approve(tenant=tenant, reference_id=reference_id, now=int(self._clock()))
        if approved is None:
            raise self._not_held(tenant, reference_id, job, "approve")
        logger.info("held import approved", reference_id=reference_id, tenant=tenant)
        self._wake(tenant, reference_id)
        return approved

    def discard(self, *, tenant: str, reference_id: str) -> dict[str, Any]:
        """``HELD`` → ``DISCARDED``, nothing written. 409 unless ``HELD``."""
        job = self.job(tenant, reference_id)
        discarded = self._jobs.discard(tenant=tenant, reference_id=reference_id)
        if discarded is None:
            raise self._not_held(tenant, reference_id, job, "discard")
        logger.info("held import discarded", reference_id=reference_id, tenant=tenant)
        self._ended(tenant, discarded, JobStatus.HELD.value)
        return discarded

    def expire_hold(self, tenant: str, job: dict[str, Any]) -> dict[str, Any]:
        """A ``HELD`` job unanswered past its ``holdUntil`` ends ``DISCARDED`` (whoever sees it
        first: a read, an action, the importer's hold check). The job as it is now."""
        now = int(self._clock())
        if job.get("status") != JobStatus.HELD or int(job.get("holdUntil", now)) >= now:
            return job
        expired = self._jobs.discard(tenant=tenant, reference_id=job["referenceId"], expired_before=now)
        if expired is None:
            return self._jobs.get(tenant=tenant, reference_id=job["referenceId"]) or job
        logger.info("held import expired", reference_id=job["referenceId"], tenant=tenant)
        self._ended(tenant, expired, JobStatus.HELD.value)
        return expired

    def _not_held(self, tenant: str, reference_id: str, job: dict[str, Any], action: str) -> InvalidState:
        current = self.expire_hold(tenant, self._jobs.get(tenant=tenant, reference_id=reference_id) or job)
        return InvalidState(f"Import {reference_id} is {current['status']}: only a HELD import can {action}.")

    def _ended(self, tenant: str, job: Mapping[str, Any], previous: str) -> None:
        """After a job ended without importing: its file to ``failed/``, the event, then it leaves
        the tenant's line and the job that now holds the turn is woken (docs/IMPORT.md)."""
        settle_unimported(self._files, self._events, tenant, job, previous)
        self._release(tenant, job)

    def _release(self, tenant: str, job: Mapping[str, Any]) -> None:
        """The job ended without importing: it gives up its place in the tenant's line, and the job
        that now holds the turn is woken (docs/IMPORT.md, "One tenant at a time")."""
        if "ticket" in job:
            self._line.leave(tenant=tenant, reference_id=str(job["referenceId"]), ticket=int(job["ticket"]))
            head = self._line.head(tenant)
            if head is not None:
                self._wake(tenant, head)

    def abort(self, *, tenant: str, reference_id: str) -> dict[str, Any]:
        """``PENDING`` or ``HELD`` → ``ABORTED``, nothing written to the roster; the file (if it
        arrived) moves to ``failed/``. 409 ``INVALID_STATE`` in any other state."""
        job = self.job(tenant, reference_id)
        aborted = self._jobs.abort(tenant=tenant, reference_id=reference_id)
        if aborted is None:
            current = self._jobs.get(tenant=tenant, reference_id=reference_id) or job
            raise InvalidState(f"Import {reference_id} is {current['status']}: only PENDING or HELD imports abort.")
        logger.info("import aborted", reference_id=reference_id, tenant=tenant, previous=job["status"])
        self._ended(tenant, aborted, str(job["status"]))
        return aborted

    def job(self, tenant: str, reference_id: str) -> dict[str, Any]:
        """The tenant's job (an expired hold ended first); another tenant's, an unknown or a
        malformed id is NOT_FOUND."""
        job = self._jobs.get(tenant=tenant, reference_id=reference_id) if REFERENCE_ID.fullmatch(reference_id) else None
        if job is None:
            raise NotFound(f"No import {reference_id} exists.")
        return self.expire_hold(tenant, job)
