"""Delivering one webhook event: at least once, retried with backoff for 24 hours.

The delivery queue holds the EventBridge events of job state changes (a rule sends HELD and
terminal ones). For each message: find the tenant's endpoint (none, or the event type not
subscribed: nothing to do), check the URL again (SSRF: DNS may have changed since registration),
POST the signed event, log the attempt. A 2xx answer is delivered; anything else raises
``DeliveryFailed`` and the handler makes the message visible again after ``backoff`` (SQS
visibility, not a sleep). An event older than the retry window is given up (logged, metric).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common.errors import InvalidWebhookUrl
from lambdas.common.observability import logger, metrics
from lambdas.webhooks import sender
from lambdas.webhooks.events import WebhookEvent
from lambdas.webhooks.signing import HEADER, signature
from lambdas.webhooks.store import SecretBox, WebhookStore
from lambdas.webhooks.urls import UrlPolicy

USER_AGENT = "Rostering-Webhooks/1"


class DeliveryFailed(Exception):
    """This attempt did not deliver; the queue will offer the event again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    first_delay_seconds: int = 30
    max_delay_seconds: int = 2 * 3600
    window_seconds: int = 24 * 3600

    def backoff(self, receive_count: int) -> int:
        """Seconds until the next attempt after the ``receive_count``-th failed one."""
        exponent = max(receive_count - 1, 0)
        return int(min(self.first_delay_seconds * 2 ** min(exponent, 20), self.max_delay_seconds))


class Deliverer:
    def __init__(
        self,
        *,
        store: WebhookStore,
        secrets: SecretBox,
        policy: UrlPolicy,
        retry: RetryPolicy,
        timeout_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._policy = policy
        self.retry = retry
        self._timeout = timeout_seconds
        self._clock = clock

    def deliver(self, envelope: dict[str, Any], *, receive_count: int = 1) -> str:
        """``delivered``, ``skipped`` or ``expired``; raises ``DeliveryFailed`` to be retried."""
        event = WebhookEvent.from_bus_event(envelope)
        endpoint = self._store.endpoint(event.tenant)
        if endpoint is None or event.type not in endpoint.get("events", ()):
            return "skipped"
        if self._clock() - _epoch(envelope.get("time")) > self.retry.window_seconds:
            logger.warning("webhook event given up", event_id=event.id, tenant=event.tenant, attempts=receive_count)
            metrics.add_metric(name="WebhookDeliveriesAbandoned", unit=MetricUnit.Count, value=1)
            return "expired"
        attempt = self._attempt(event, endpoint)
        self._store.record_attempt(
            event.tenant,
            {
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
                "eventId": event.id,
                "type": event.type,
                "referenceId": event.reference_id,
                "url": endpoint["url"],
                "attempt": receive_count,
                "statusCode": attempt.status_code,
                "error": attempt.error,
                "durationMs": attempt.duration_ms,
            },
        )
        if not attempt.delivered:
            metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
            raise DeliveryFailed(f"event {event.id}: {attempt.status_code or attempt.error}")
        logger.info("webhook delivered", event_id=event.id, tenant=event.tenant, status_code=attempt.status_code)
        metrics.add_metric(name="WebhookDeliveries", unit=MetricUnit.Count, value=1)
        return "delivered"

    def _attempt(self, event: WebhookEvent, endpoint: dict[str, Any]) -> sender.Attempt:
        try:
            target = self._policy.check(str(endpoint["url"]))
        except InvalidWebhookUrl as refused:
            return sender.Attempt(None, refused.message, 0)
        secret = self._secrets.open(event.tenant, endpoint["secret"])
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            HEADER: signature(secret, int(self._clock()), event.body),
            "Roster-Event-Id": event.id,
        }
        return sender.post(target, event.body, headers, timeout=self._timeout)


def _epoch(value: Any) -> float:
    if not isinstance(value, str):
        return time.time()
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
