"""The tenant's one webhook endpoint (``routes.WEBHOOK_PUT``, ``WEBHOOK_GET``, ``WEBHOOK_DELETE``).

``PUT`` checks the URL (``UrlPolicy``), makes a new signing secret, stores it sealed by KMS and
answers it this once; a later ``PUT`` replaces the endpoint and its secret. ``GET`` shows the
endpoint without the secret, plus the last 20 delivery attempts. ``DELETE`` removes it (404 when
there is none, as for ``GET``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.common import routes
from lambdas.common.errors import MalformedRequest, NotFound
from lambdas.common.observability import logger
from lambdas.jobs.model import plain
from lambdas.webhooks.events import EVENT_TYPES
from lambdas.webhooks.signing import new_secret
from lambdas.webhooks.store import SecretBox, WebhookStore
from lambdas.webhooks.urls import UrlPolicy

SHAPE = '{"url": "https://...", "events": ["import.completed", ...]}'


class WebhookSettings:
    def __init__(self, *, store: WebhookStore, secrets: SecretBox, policy: UrlPolicy) -> None:
        self._store = store
        self._secrets = secrets
        self._policy = policy

    def register(self, tenant: str, body: Any) -> dict[str, Any]:
        url, events = _parse(body)
        self._policy.check(url)
        secret = new_secret()
        self._store.put_endpoint(tenant, url=url, events=events, sealed_secret=self._secrets.seal(tenant, secret))
        logger.info("webhook registered", tenant=tenant, events=events)
        return {"url": url, "events": events, "secret": secret}

    def show(self, tenant: str) -> dict[str, Any]:
        endpoint = self._endpoint(tenant)
        return {
            "url": endpoint["url"],
            "events": list(endpoint["events"]),
            "createdAt": endpoint.get("createdAt"),
            "deliveries": plain(self._store.recent_attempts(tenant)),
        }

    def delete(self, tenant: str) -> dict[str, Any]:
        endpoint = self._endpoint(tenant)
        self._store.delete_endpoint(tenant)
        logger.info("webhook deleted", tenant=tenant)
        return {"url": endpoint["url"], "events": list(endpoint["events"]), "deleted": True}

    def _endpoint(self, tenant: str) -> dict[str, Any]:
        endpoint = self._store.endpoint(tenant)
        if endpoint is None:
            put = routes.WEBHOOK_PUT
            raise NotFound(f"No webhook is registered: {put.method} {put.path} registers one.")
        return endpoint


def _parse(body: Any) -> tuple[str, list[str]]:
    if not isinstance(body, Mapping) or not isinstance(body.get("url"), str) or set(body) - {"url", "events"}:
        raise MalformedRequest(f"The body must be JSON like {SHAPE}.")
    events = body.get("events")
    if events is None:
        return body["url"], list(EVENT_TYPES)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e in EVENT_TYPES for e in events):
        raise MalformedRequest(f"events must be a non-empty list of {', '.join(EVENT_TYPES)}.")
    return body["url"], list(dict.fromkeys(events))
