"""What a caller may read about its jobs: the status and a link to the result report."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common.errors import NotFound, ReportNotReady
from lambdas.common.observability import failure_metric, logger, metrics
from lambdas.jobs.control import JobControl
from lambdas.jobs.events import JobEvents
from lambdas.jobs.line import TenantLine
from lambdas.jobs.model import REFERENCE_ID, UPLOAD_NOT_RECEIVED, JobStatus, is_terminal, status_view
from lambdas.jobs.objects import JobFiles
from lambdas.jobs.store import JobStore


class JobQueries:
    def __init__(
        self,
        *,
        jobs: JobStore,
        files: JobFiles,
        events: JobEvents,
        line: TenantLine,
        download_expiry_seconds: int,
        holds: JobControl | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._holds = holds
        self._jobs = jobs
        self._line = line
        self._files = files
        self._events = events
        self._download_expiry_seconds = download_expiry_seconds
        self._clock = clock

    def status(self, *, tenant: str, reference_id: str) -> dict[str, Any]:
        """The job's status; ``queuePosition``: how many of the tenant's imports are ahead of it
        while it is in the line (0 once it holds the turn), null when it is not in the line."""
        job = self._job(tenant, reference_id)
        position = None
        if "ticket" in job and not is_terminal(job):
            position = self._line.turn(tenant=tenant, reference_id=reference_id).ahead
        return status_view(job, queue_position=position)

    def download(self, *, tenant: str, reference_id: str) -> dict[str, Any]:
        """A signed GET of the report, once the job is finished (or ``HELD``: the planned outcome
        of every row) and its report written."""
        job = self._job(tenant, reference_id)
        readable = is_terminal(job) or job["status"] == JobStatus.HELD
        if not readable or not self._files.report_exists(reference_id):
            raise ReportNotReady(f"The result report of import {reference_id} is not available.")
        return {
            "referenceId": reference_id,
            "url": self._files.report_url(reference_id, expires_in=self._download_expiry_seconds),
            "expiresIn": self._download_expiry_seconds,
        }

    def _job(self, tenant: str, reference_id: str) -> dict[str, Any]:
        """The tenant's job; another tenant's, an unknown or a malformed id is NOT_FOUND. A
        ``PENDING`` job past its upload deadline whose file is not stored is expired on read."""
        job = self._jobs.get(tenant=tenant, reference_id=reference_id) if REFERENCE_ID.fullmatch(reference_id) else None
        if job is None:
            raise NotFound(f"No import {reference_id} exists.")
        if self._holds is not None:
            job = self._holds.expire_hold(tenant, job)
        now = int(self._clock())
        if (
            job["status"] == JobStatus.PENDING
            and int(job.get("uploadDeadline", now)) < now
            and not self._files.pending_exists(reference_id)
        ):
            expired = self._jobs.expire_pending(tenant=tenant, reference_id=reference_id, now=now)
            if expired is None:
                return self._jobs.get(tenant=tenant, reference_id=reference_id) or job
            logger.info("import expired without a file", reference_id=reference_id)
            metrics.add_metric(name=failure_metric(UPLOAD_NOT_RECEIVED), unit=MetricUnit.Count, value=1)
            self._events.status_changed(expired, tenant=tenant, previous=JobStatus.PENDING.value)
            return expired
        return job
