"""Job state-change events on the service's EventBridge bus."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3

from lambdas.common.observability import logger
from lambdas.common.schema import EVENT_SOURCE
from lambdas.jobs.model import JobStatus, plain, status_view

DETAIL_TYPE = "Import Job Status Changed"


class JobEvents:
    def __init__(self, bus_name: str, *, client: Any = None) -> None:
        self._bus_name = bus_name
        self._client = client or boto3.client("events")

    def status_changed(self, job: Mapping[str, Any], *, tenant: str, previous: str | None) -> None:
        """Publish the job's new state. Sent after the state is committed; a failed publication is
        logged and does not undo the state change (docs/IMPORT.md, "Events")."""
        errors = plain(job.get("errors")) or []
        detail = {
            "tenant": tenant,
            "referenceId": job["referenceId"],
            "status": job["status"],
            "previousStatus": previous,
            "fileName": job.get("fileName"),
            "template": job.get("template"),
            "dryRun": bool(job.get("dryRun", False)),
            "summary": plain(job.get("summary")),
            "errorCode": errors[0]["code"] if job["status"] == JobStatus.FAILED and errors else None,
            # The status result in this state: what a webhook sends as its event's ``data``.
            "job": status_view(job),
        }
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus_name,
        }
        try:
            response = self._client.put_events(Entries=[entry])
        except Exception:
            logger.exception("job event not published", reference_id=job["referenceId"], status=job["status"])
            return
        if response.get("FailedEntryCount"):
            logger.error("job event rejected", reference_id=job["referenceId"], entries=response.get("Entries"))
