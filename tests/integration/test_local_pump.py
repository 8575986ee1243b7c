"""The local pump deletes what Lambda's SQS event source mapping deletes after an invocation: the
messages a partial batch response does not name, none after a crash or an invalid response, all
when the mapping does not read partial batch responses."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.common.schema import ConsumerSpec, QueueSpec
from local.pump import QueuePump, failed_ids
from local.resources import create_queue

# Visibility 0 (six times a 0 s timeout): whatever the pump leaves is received again at once.
BATCH = ConsumerSpec(function="consumer", timeout_seconds=0, batch_size=3)
SPEC = QueueSpec(local_name="pumped", consumer=BATCH)


def run_once(spec: QueueSpec, answer: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Send three messages, let the pump hand them to a function answering ``answer(records)``;
    the records it got and the bodies left on the queue."""
    sqs = boto3.client("sqs")
    url, _ = create_queue(sqs, spec)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": b, "MessageBody": b} for b in ("a", "b", "c")])
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.extend(event["Records"])
        return answer(event["Records"])

    pump = QueuePump(sqs, spec, handler, workers=1)
    pump.invoke(pump.receive())
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return seen, sorted(m["Body"] for m in left)


def failing(*bodies: str) -> Any:
    return lambda records: {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] in bodies]
    }


def test_the_function_gets_sqs_records_of_one_batch(aws: None) -> None:
    seen, left = run_once(SPEC, lambda records: None)

    assert sorted(r["body"] for r in seen) == ["a", "b", "c"]
    assert {r["eventSource"] for r in seen} == {"aws:sqs"}
    assert all(r["eventSourceARN"].endswith(":pumped") for r in seen)
    assert left == []


def test_the_messages_a_partial_batch_response_names_come_back(aws: None) -> None:
    _, left = run_once(SPEC, failing("b"))

    assert left == ["b"]


def test_a_crashed_invocation_leaves_the_whole_batch(aws: None) -> None:
    def crash(records: Any) -> Any:
        raise RuntimeError("boom")

    _, left = run_once(SPEC, crash)

    assert left == ["a", "b", "c"]


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"messageId": "x"}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        "not an object",
    ],
)
def test_an_invalid_partial_batch_response_fails_the_whole_batch(aws: None, answer: Any) -> None:
    _, left = run_once(SPEC, lambda records: answer)

    assert left == ["a", "b", "c"]


def test_without_partial_batch_responses_an_answer_is_not_read(aws: None) -> None:
    spec = QueueSpec(
        local_name="pumped",
        consumer=ConsumerSpec(function="c", timeout_seconds=0, batch_size=3, report_batch_item_failures=False),
    )
    _, left = run_once(spec, failing("b"))

    assert left == []


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_an_empty_answer_is_a_complete_success(answer: Any) -> None:
    assert failed_ids(answer, {"m1"}) == set()
