"""The webhook pipeline as deployed: bus rule → delivery queue (+DLQ) → delivery Lambda. Each test
pins one AWS setting that docs/WEBHOOKS.md ("AWS behaviour relied on") argues from AWS's docs."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from infra import constants as c
from lambdas.webhooks.delivery import RetryPolicy
from lambdas.webhooks.events import bus_pattern
from tests.infra.helpers import Resources, function_named, of_type

CHANGE_VISIBILITY_MAX_SECONDS = 12 * 3600  # SQS ChangeMessageVisibility: 0 to 43,200 seconds


def delivery_queues(resources: Resources) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(delivery queue, its dead-letter queue): the queue the bus rule targets."""
    ((_, rule),) = of_type(resources, "AWS::Events::Rule").items()
    (target,) = rule["Properties"]["Targets"]
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    queue = resources[queue_id]
    dlq_id = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return (queue_id, queue), (dlq_id, resources[dlq_id])


def attempts_in_the_window(policy: RetryPolicy) -> int:
    elapsed, attempts = 0, 0
    while elapsed < policy.window_seconds:
        attempts += 1
        elapsed += policy.backoff(attempts)
    return attempts


def test_the_rule_forwards_held_and_terminal_states_to_the_delivery_queue(resources: Resources) -> None:
    ((_, rule),) = of_type(resources, "AWS::Events::Rule").items()
    pattern = rule["Properties"]["EventPattern"]
    assert {key: pattern[key] for key in ("source", "detail-type", "detail")} == bus_pattern()


def test_an_event_the_rule_cannot_put_on_the_queue_for_24_hours_goes_to_the_dead_letter_queue(
    resources: Resources,
) -> None:
    # EventBridge drops an event after its retry policy unless the target has a dead-letter queue
    ((rule_id, rule),) = of_type(resources, "AWS::Events::Rule").items()
    (target,) = rule["Properties"]["Targets"]
    _, (dlq_id, _) = delivery_queues(resources)
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 24 * 3600, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    # and EventBridge may write there, for this rule only (AWS docs: the DLQ needs that permission)
    (policy,) = [
        p
        for p in of_type(resources, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": dlq_id}]
    ]
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [(s["Principal"], s["Action"]) for s in allows] == [({"Service": "events.amazonaws.com"}, "sqs:SendMessage")]
    assert allows[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_only_a_crashing_message_reaches_the_dead_letter_queue(resources: Resources) -> None:
    # Every failed attempt is one receive; the retry window's attempts stay below maxReceiveCount
    (_, queue), (dlq_id, _) = delivery_queues(resources)
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": c.WEBHOOK_QUEUE.max_receive_count,
    }
    assert attempts_in_the_window(RetryPolicy()) < c.WEBHOOK_QUEUE.max_receive_count


def test_the_backoff_fits_one_visibility_change_and_the_queue_keeps_messages_past_the_window(
    resources: Resources,
) -> None:
    (_, queue), _ = delivery_queues(resources)
    policy = RetryPolicy()
    assert policy.max_delay_seconds <= CHANGE_VISIBILITY_MAX_SECONDS
    retention = queue["Properties"]["MessageRetentionPeriod"]
    assert retention >= policy.window_seconds + policy.max_delay_seconds


def test_the_delivery_function_reads_one_event_at_a_time_with_partial_batch_responses(
    template: Template, resources: Resources
) -> None:
    (queue_id, queue), _ = delivery_queues(resources)
    function_id, function = function_named(resources, c.DELIVERY)
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FunctionName": {"Ref": function_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 1,
            "ScalingConfig": {"MaximumConcurrency": c.WEBHOOK_MAX_CONCURRENCY},
        },
    )
    assert 2 <= c.WEBHOOK_MAX_CONCURRENCY <= 1000  # the range Lambda accepts
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]


def test_the_secrets_key_is_a_rotated_symmetric_key(resources: Resources) -> None:
    keys = [k for k in of_type(resources, "AWS::KMS::Key").values() if "webhook" in k["Properties"]["Description"]]
    assert [k["Properties"]["EnableKeyRotation"] for k in keys] == [True]
    assert keys[0]["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
