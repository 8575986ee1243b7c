"""S3 event → SQS (+DLQ) → importer with partial batch responses; chunk fan-out and events."""

from __future__ import annotations

from aws_cdk.assertions import Template

from infra import constants as c
from tests.infra.helpers import Resources, function_named, of_type


def queues(resources: Resources) -> tuple[tuple[str, dict], tuple[str, dict]]:
    """(import queue, dead-letter queue)."""
    by_name = of_type(resources, "AWS::SQS::Queue")
    main = next((n, q) for n, q in by_name.items() if "RedrivePolicy" in q["Properties"])
    dlq_id = main[1]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return main, (dlq_id, by_name[dlq_id])


def test_pending_csv_objects_notify_the_import_queue(resources: Resources) -> None:
    (queue_id, _), _ = queues(resources)
    (notification,) = of_type(resources, "Custom::S3BucketNotifications").values()

    (config,) = notification["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["QueueArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    rules = {r["Name"]: r["Value"] for r in config["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "import-csv/pending/", "suffix": ".csv"}


def test_failed_messages_reach_the_dead_letter_queue_after_five_receives(resources: Resources) -> None:
    (_, queue), (dlq_id, _) = queues(resources)

    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }


def test_visibility_timeout_is_at_least_six_times_the_importer_timeout(resources: Resources) -> None:
    (_, queue), _ = queues(resources)
    _, importer = function_named(resources, c.IMPORTER)

    assert queue["Properties"]["VisibilityTimeout"] >= 6 * importer["Properties"]["Timeout"]


def test_importer_reads_the_queue_one_message_at_a_time_with_partial_batch_responses(
    template: Template, resources: Resources
) -> None:
    (queue_id, _), _ = queues(resources)
    importer_id, _ = function_named(resources, c.IMPORTER)

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FunctionName": {"Ref": importer_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 1,
            "ScalingConfig": {"MaximumConcurrency": c.IMPORT_MAX_CONCURRENCY},
        },
    )


def test_queues_are_encrypted_and_refuse_plain_http(resources: Resources) -> None:
    policies = of_type(resources, "AWS::SQS::QueuePolicy").values()

    for queue_id, queue in of_type(resources, "AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert any(
            {"Ref": queue_id} in p["Properties"]["Queues"]
            and s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for p in policies
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )


def test_importer_knows_its_queue_and_event_bus(resources: Resources) -> None:
    (queue_id, _), _ = queues(resources)
    (bus_id,) = of_type(resources, "AWS::Events::EventBus")
    _, importer = function_named(resources, c.IMPORTER)

    env = importer["Properties"]["Environment"]["Variables"]
    assert env["IMPORT_QUEUE_URL"] == {"Ref": queue_id}
    assert env["EVENT_BUS_NAME"] == {"Ref": bus_id}


def test_import_lease_outlasts_the_importer_timeout(resources: Resources) -> None:
    _, importer = function_named(resources, c.IMPORTER)
    lease = int(importer["Properties"]["Environment"]["Variables"]["IMPORT_LEASE_SECONDS"])
    assert lease > importer["Properties"]["Timeout"]


def test_dead_letter_consumer_reads_the_dlq_with_partial_batch_responses(
    template: Template, resources: Resources
) -> None:
    # Every message that failed after its retries reaches a function that ends its job FAILED
    _, (dlq_id, dlq) = queues(resources)
    consumer_id, consumer = function_named(resources, c.DEADLETTER)

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "FunctionName": {"Ref": consumer_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 1,
        },
    )
    assert dlq["Properties"]["VisibilityTimeout"] >= 6 * consumer["Properties"]["Timeout"]


def test_dead_letter_consumer_runs_the_importer_configuration(resources: Resources) -> None:
    # It writes the same jobs, report and events as the importer, and wakes the tenant's next job
    _, importer = function_named(resources, c.IMPORTER)
    _, consumer = function_named(resources, c.DEADLETTER)
    importer_env = importer["Properties"]["Environment"]["Variables"]
    consumer_env = consumer["Properties"]["Environment"]["Variables"]

    assert consumer_env == importer_env
    assert "IMPORT_LINE_RECHECK_SECONDS" in importer_env
