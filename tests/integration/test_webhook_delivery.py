"""Webhook registration and delivery against moto and real receivers on this machine: KMS-sealed
secret, signed events through the bus rule and the delivery queue, retries by SQS visibility,
the delivery log, a receiver that never answers, SSRF checked again at delivery."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import boto3
import pytest

from lambdas.common.config import Settings
from lambdas.common.errors import InvalidWebhookUrl, MalformedRequest, NotFound
from lambdas.handlers import delivery as handler
from lambdas.jobs.events import JobEvents
from lambdas.webhooks.delivery import Deliverer, RetryPolicy
from lambdas.webhooks.service import WebhookSettings
from lambdas.webhooks.signing import verify
from lambdas.webhooks.store import SecretBox, WebhookStore
from lambdas.webhooks.urls import UrlPolicy
from local.resources import create_webhook_key, create_webhook_queue
from testkit.apigw import TENANT_A, TENANT_B
from tests.webhook_fixtures import receiver, silent_receiver

REF = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def hooks(resources: dict[str, Any], settings: Settings) -> dict[str, Any]:
    settings = replace(settings, webhook_allow_loopback=True, webhook_timeout_seconds=1)
    sqs, events = boto3.client("sqs"), boto3.client("events")
    events.create_event_bus(Name=settings.event_bus_name)
    create_webhook_key(boto3.client("kms"), settings)
    queues = create_webhook_queue(sqs, events, settings)
    return {"settings": replace(settings, webhook_queue_url=queues["queue_url"]), "sqs": sqs, **queues}


def webhook_settings(hooks: dict[str, Any]) -> WebhookSettings:
    settings = hooks["settings"]
    return WebhookSettings(
        store=WebhookStore(settings.tenants_table),
        secrets=SecretBox(settings.webhook_key_id),
        policy=UrlPolicy(allow_loopback=True),
    )


def deliverer(hooks: dict[str, Any], **overrides: Any) -> Deliverer:
    return handler.build_deliverer(hooks["settings"], **{"retry": RetryPolicy(first_delay_seconds=0), **overrides})


def publish(hooks: dict[str, Any], status: str, *, tenant: str = TENANT_A, ref: str = REF) -> None:
    job = {"referenceId": ref, "status": status, "fileName": "groups.csv", "finishedAt": "2026-11-29T10:00:00Z"}
    JobEvents(hooks["settings"].event_bus_name).status_changed(job, tenant=tenant, previous="PROCESSING")


def pump(hooks: dict[str, Any], lambda_context: Any, rounds: int = 1, **overrides: Any) -> list[Any]:
    """Receive the delivery queue and run the delivery handler on it, ``rounds`` times."""
    answers = []
    for _ in range(rounds):
        messages = (
            hooks["sqs"]
            .receive_message(
                QueueUrl=hooks["queue_url"], MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            )
            .get("Messages", [])
        )
        if not messages:
            break
        event = {"Records": [sqs_record(m, hooks["queue_arn"]) for m in messages]}
        answer = handler.process_batch(
            event, lambda_context, deliverer(hooks, **overrides), sqs=hooks["sqs"], queue_url=hooks["queue_url"]
        )
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                hooks["sqs"].delete_message(QueueUrl=hooks["queue_url"], ReceiptHandle=message["ReceiptHandle"])
        answers.append(answer)
    return answers


def sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "us-east-1",
    }


def test_register_shows_the_secret_once_and_stores_it_sealed(hooks: dict[str, Any]) -> None:
    # Given a tenant registering a local receiver
    result = webhook_settings(hooks).register(TENANT_A, {"url": "http://127.0.0.1:9/hook"})
    # Then the answer has the secret and every event type; GET hides it; the table holds ciphertext
    assert result["secret"].startswith("whsec_") and "import.completed" in result["events"]
    shown = webhook_settings(hooks).show(TENANT_A)
    assert "secret" not in shown and shown["url"] == "http://127.0.0.1:9/hook" and shown["deliveries"] == []
    stored = WebhookStore(hooks["settings"].tenants_table).endpoint(TENANT_A)
    assert stored is not None and result["secret"].encode() not in stored["secret"]
    # And the ciphertext is bound to the tenant: it does not open as another tenant's
    box = SecretBox(hooks["settings"].webhook_key_id)
    assert box.open(TENANT_A, stored["secret"]) == result["secret"]
    with pytest.raises(Exception, match="InvalidCiphertext"):
        box.open(TENANT_B, stored["secret"])


def test_webhook_of_another_tenant_is_not_found(hooks: dict[str, Any]) -> None:
    webhook_settings(hooks).register(TENANT_A, {"url": "http://127.0.0.1:9/hook"})
    with pytest.raises(NotFound):
        webhook_settings(hooks).show(TENANT_B)
    with pytest.raises(NotFound):
        webhook_settings(hooks).delete(TENANT_B)
    assert webhook_settings(hooks).show(TENANT_A)["url"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "https://192.168.1.20/hook",
        "ftp://127.0.0.1/hook",
        "file:///etc/passwd",
    ],
)
def test_metadata_private_and_non_http_urls_are_invalid(hooks: dict[str, Any], url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        webhook_settings(hooks).register(TENANT_A, {"url": url})
    with pytest.raises(NotFound):
        webhook_settings(hooks).show(TENANT_A)


@pytest.mark.parametrize(
    "body", [[], {"url": 5}, {"url": "http://127.0.0.1/"}, {"url": "http://127.0.0.1/", "events": ["x"]}]
)
def test_malformed_bodies_are_malformed_request(hooks: dict[str, Any], body: Any) -> None:
    if body == {"url": "http://127.0.0.1/"}:
        body = {**body, "extra": 1}
    with pytest.raises(MalformedRequest):
        webhook_settings(hooks).register(TENANT_A, body)


def test_a_completed_event_arrives_signed_with_the_reference(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver() as app:
        # Given a registered receiver
        secret = webhook_settings(hooks).register(TENANT_A, {"url": app.url})["secret"]
        # When a job completes and the delivery queue is served
        publish(hooks, "COMPLETED")
        pump(hooks, lambda_context)
        # Then one signed POST carries the event with the job's status result
        assert len(app.requests) == 1
        request = app.requests[0]
        assert verify(secret, request.headers["roster-signature"], request.body, now=int(time.time()))
        assert request.headers["content-type"] == "application/json"
        assert int(request.headers["content-length"]) == len(request.body)
        event = request.event
        assert event["type"] == "import.completed" and event["data"]["referenceId"] == REF
        assert event["data"]["status"] == "COMPLETED" and set(event) == {"id", "type", "createdAt", "data"}


def test_processing_and_pending_events_are_not_delivered(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver() as app:
        webhook_settings(hooks).register(TENANT_A, {"url": app.url})
        publish(hooks, "PROCESSING")
        pump(hooks, lambda_context)
        assert app.requests == []


def test_unsubscribed_types_are_skipped(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver() as app:
        webhook_settings(hooks).register(TENANT_A, {"url": app.url, "events": ["import.failed"]})
        publish(hooks, "COMPLETED")
        pump(hooks, lambda_context)
        assert app.requests == []


def test_a_receiver_failing_three_times_gets_the_event_once_after_dedup(
    hooks: dict[str, Any], lambda_context: Any
) -> None:
    with receiver(500, 503, 502) as app:
        # Given a receiver that fails three times, then succeeds
        webhook_settings(hooks).register(TENANT_A, {"url": app.url})
        # When the event is delivered and retried through the queue
        publish(hooks, "COMPLETED")
        answers = pump(hooks, lambda_context, rounds=6)
        # Then four attempts were made (three failed items), all with the same event id and body
        assert [len(a["batchItemFailures"]) for a in answers] == [1, 1, 1, 0]
        assert len(app.requests) == 4 and len({r.body for r in app.requests}) == 1
        # And the application behind a deduplicating receiver sees it once
        assert [e["data"]["referenceId"] for e in app.deduplicated()] == [REF]
        # And the delivery log shows the four attempts, newest first, with their status codes
        log = webhook_settings(hooks).show(TENANT_A)["deliveries"]
        assert [d["statusCode"] for d in log] == [200, 502, 503, 500]
        assert [d["attempt"] for d in log] == [4, 3, 2, 1]


def test_a_failed_attempt_backs_off_through_visibility(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver(500) as app:
        webhook_settings(hooks).register(TENANT_A, {"url": app.url})
        publish(hooks, "FAILED")
        pump(hooks, lambda_context, retry=RetryPolicy(first_delay_seconds=60))
        # The message is invisible for the backoff: nothing to receive now
        assert pump(hooks, lambda_context) == [] and len(app.requests) == 1


def test_the_retry_policy_spans_24_hours() -> None:
    policy = RetryPolicy()
    delays, elapsed, attempts = [], 0, 0
    while elapsed < policy.window_seconds:
        attempts += 1
        delays.append(policy.backoff(attempts))
        elapsed += delays[-1]
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == 7200
    assert attempts < 30  # below the queue's maxReceiveCount: only a crashing handler reaches the DLQ


def test_an_event_older_than_the_window_is_given_up(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver() as app:
        webhook_settings(hooks).register(TENANT_A, {"url": app.url})
        publish(hooks, "COMPLETED")
        answers = pump(hooks, lambda_context, clock=lambda: time.time() + 25 * 3600)
        assert answers[0]["batchItemFailures"] == [] and app.requests == []


def test_a_receiver_that_never_answers_costs_at_most_the_timeout(hooks: dict[str, Any], lambda_context: Any) -> None:
    with silent_receiver() as url:
        webhook_settings(hooks).register(TENANT_A, {"url": url})
        publish(hooks, "COMPLETED")
        started = time.monotonic()
        answers = pump(hooks, lambda_context)
        elapsed = time.monotonic() - started
    assert len(answers[0]["batchItemFailures"]) == 1
    assert 0.9 <= elapsed < 3  # the 1-second timeout, not more
    log = webhook_settings(hooks).show(TENANT_A)["deliveries"]
    assert log[0]["statusCode"] is None and "no answer" in log[0]["error"]


def test_a_url_that_became_private_is_refused_at_delivery(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver() as app:
        # Given a receiver registered while its name was public, now resolving to a private address
        webhook_settings(hooks).register(TENANT_A, {"url": app.url})
        private = UrlPolicy(resolver=lambda host, port, **_: [(2, 1, 6, "", ("10.0.0.7", port))])
        publish(hooks, "COMPLETED")
        answers = pump(hooks, lambda_context, policy=private)
        # Then nothing is sent, the attempt is logged as refused and retried later
        assert app.requests == [] and len(answers[0]["batchItemFailures"]) == 1
        log = webhook_settings(hooks).show(TENANT_A)["deliveries"]
        assert log[0]["statusCode"] is None and "refused" in log[0]["error"]


def test_no_webhook_no_delivery_and_the_message_is_done(hooks: dict[str, Any], lambda_context: Any) -> None:
    publish(hooks, "COMPLETED")
    answers = pump(hooks, lambda_context)
    assert answers[0]["batchItemFailures"] == []
    assert pump(hooks, lambda_context) == []


def test_events_are_tenant_scoped(hooks: dict[str, Any], lambda_context: Any) -> None:
    with receiver() as app:
        webhook_settings(hooks).register(TENANT_A, {"url": app.url})
        publish(hooks, "COMPLETED", tenant=TENANT_B)
        pump(hooks, lambda_context)
        assert app.requests == []


def test_the_secret_never_reaches_the_logs(
    hooks: dict[str, Any], lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiver(500) as app:
        secret = webhook_settings(hooks).register(TENANT_A, {"url": app.url})["secret"]
        publish(hooks, "COMPLETED")
        pump(hooks, lambda_context, rounds=2)
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    assert json.dumps(secret)[1:-1] not in captured.out + captured.err
