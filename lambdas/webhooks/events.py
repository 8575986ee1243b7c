"""The webhook event: what a job state change looks like to a receiver.

``{"id", "type", "createdAt", "data"}``: ``type`` is ``import.<state in lower case>``
(``import.held``, ``import.completed``, ``import.completed_with_errors``, ``import.failed``,
``import.discarded``, ``import.aborted``), ``data`` the status ``result`` of the job in that state,
and ``id`` is the same for every delivery of one state change of one job (a job enters each of
these states at most once), so a receiver deduplicates by it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.common.schema import EVENT_SOURCE
from lambdas.jobs.events import DETAIL_TYPE
from lambdas.jobs.model import TERMINAL_STATUSES, JobStatus

NOTIFIED_STATUSES = (JobStatus.HELD, *sorted(TERMINAL_STATUSES))
EVENT_TYPES = tuple(f"import.{status.lower()}" for status in NOTIFIED_STATUSES)
_ID_NAMESPACE = uuid.UUID("4f6a2b1e-8d1c-4c55-9a57-2b3f3c1d9e10")


def bus_pattern() -> dict[str, Any]:
    """The EventBridge rule pattern that feeds the delivery queue (the stack and the local stack)."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {"status": [status.value for status in NOTIFIED_STATUSES]},
    }


def event_type(status: str) -> str:
    return f"import.{status.lower()}"


def event_id(reference_id: str, status: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{reference_id}:{status}"))


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    tenant: str
    reference_id: str
    type: str
    body: bytes  # exactly the bytes every delivery of this event sends

    @property
    def id(self) -> str:
        return str(json.loads(self.body)["id"])

    @classmethod
    def from_bus_event(cls, envelope: Mapping[str, Any]) -> WebhookEvent:
        """From the EventBridge event of a job state change (``lambdas.jobs.events``)."""
        detail = envelope["detail"]
        job = detail["job"]
        status = str(detail["status"])
        document = {
            "id": event_id(str(detail["referenceId"]), status),
            "type": event_type(status),
            "createdAt": job.get("finishedAt") or envelope.get("time"),
            "data": job,
        }
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        reference_id = str(detail["referenceId"])
        return cls(tenant=str(detail["tenant"]), reference_id=reference_id, type=event_type(status), body=body)
