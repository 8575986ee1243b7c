"""The Roster-Signature header and the webhook event's shape and stable id."""

from __future__ import annotations

import hashlib
import hmac
import json

from lambdas.webhooks.events import EVENT_TYPES, WebhookEvent, event_id
from lambdas.webhooks.signing import new_secret, signature, verify


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    secret, body = "whsec_test", b'{"id":"x"}'
    expected = hmac.new(b"whsec_test", b'1700000000.{"id":"x"}', hashlib.sha256).hexdigest()
    assert signature(secret, 1700000000, body) == f"t=1700000000,v1={expected}"


def test_verify_accepts_the_signature_and_rejects_tampering_or_staleness() -> None:
    secret, body = new_secret(), b'{"a":1}'
    header = signature(secret, 1000, body)
    assert verify(secret, header, body, now=1010)
    assert not verify(secret, header, b'{"a":2}', now=1010)
    assert not verify(new_secret(), header, body, now=1010)
    assert not verify(secret, header, body, now=2000)
    assert not verify(secret, "garbage", body, now=1000)


def test_secrets_are_new_each_time_and_prefixed() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(first) > 40


def bus_event(status: str, finished: str | None = "2026-11-29T10:00:00Z") -> dict[str, object]:
    job = {"referenceId": "0f8fad5b-d9cb-469f-a165-70867728950e", "status": status, "finishedAt": finished}
    return {
        "time": "2026-11-29T10:00:01Z",
        "detail": {"tenant": "t", "referenceId": job["referenceId"], "status": status, "job": job},
    }


def test_event_has_type_id_created_at_and_the_status_result() -> None:
    event = WebhookEvent.from_bus_event(bus_event("COMPLETED"))
    document = json.loads(event.body)
    assert set(document) == {"id", "type", "createdAt", "data"}
    assert document["type"] == "import.completed" and document["createdAt"] == "2026-11-29T10:00:00Z"
    assert document["data"]["referenceId"] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert event.tenant == "t" and event.id == document["id"]


def test_event_id_is_stable_per_job_and_state() -> None:
    ref = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert (
        WebhookEvent.from_bus_event(bus_event("HELD", None)).body
        == WebhookEvent.from_bus_event(bus_event("HELD", None)).body
    )
    assert event_id(ref, "HELD") != event_id(ref, "COMPLETED")


def test_event_types_cover_held_and_every_terminal_state() -> None:
    assert set(EVENT_TYPES) == {
        "import.held",
        "import.completed",
        "import.completed_with_errors",
        "import.failed",
        "import.discarded",
        "import.aborted",
    }
