"""The job record of one upload, as stored in the jobs table and shown by the status route."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    # Planned, nothing written: waits for approve or discard (docs/JOB_CONTROL.md, change hold).
    HELD = "HELD"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    DISCARDED = "DISCARDED"
    ABORTED = "ABORTED"


TERMINAL_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_ERRORS,
        JobStatus.FAILED,
        JobStatus.DISCARDED,
        JobStatus.ABORTED,
    }
)
# States a caller may abort: nothing of the job has reached the roster yet.
ABORTABLE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.HELD})

# A reference id is a lowercase UUID (openapi.yaml).
REFERENCE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The counters of a job summary, in the order of the report (docs/IMPORT.md).
SUMMARY_FIELDS = ("rows", "created", "updated", "unchanged", "failed", "warnings")

# Error code of a job whose file never arrived before its upload deadline.
UPLOAD_NOT_RECEIVED = "UPLOAD_NOT_RECEIVED"


def utc_now_iso() -> str:
    """ISO 8601 UTC with a ``Z`` suffix, second precision (the status route's format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_terminal(job: Mapping[str, Any]) -> bool:
    return job.get("status") in TERMINAL_STATUSES


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as ``Decimal``: turn them (deeply) into ``int`` for JSON."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def status_view(job: Mapping[str, Any]) -> dict[str, Any]:
    """The status route's ``result``: every field present, null until it exists."""
    return {
        "referenceId": job["referenceId"],
        "status": job["status"],
        "fileName": job.get("fileName"),
        "template": job.get("template"),
        "dryRun": bool(job.get("dryRun", False)),
        "createdAt": job.get("createdAt"),
        "startedAt": job.get("startedAt"),
        "finishedAt": job.get("finishedAt"),
        "summary": plain(job.get("summary")),
        "errors": plain(job.get("errors")),
        "warnings": plain(job.get("warnings")),
    }


def list_view(job: Mapping[str, Any]) -> dict[str, Any]:
    """One item of the imports list: the status ``result`` without ``errors`` and ``warnings``."""
    view = status_view(job)
    del view["errors"], view["warnings"]
    return view
