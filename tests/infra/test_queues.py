"""The local stack reads and keeps every queue as the deployed stack does: each event source mapping
has a local pump with the same batch size, partial batch responses and function timeout, and each
local queue the deployed queue's visibility timeout, retention and redrive. A change to one side
only fails here (the local emulator must be exactly as strict as AWS)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra import constants as c
from lambdas.common.config import Settings
from local.pump import QueuePump
from local.resources import create_bucket, create_import_queue, create_webhook_queue
from local.stack import PUMPED_QUEUES
from tests.infra.helpers import Resources, function_named, of_type

SQS_DEFAULT_VISIBILITY = 30
SQS_DEFAULT_RETENTION = 4 * 24 * 3600


def deployed_queue(resources: Resources, queue_id: str) -> dict[str, Any]:
    properties = resources[queue_id]["Properties"]
    redrive = properties.get("RedrivePolicy")
    return {
        "visibility": properties.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY),
        "retention": properties.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION),
        "maxReceiveCount": redrive["maxReceiveCount"] if redrive else None,
        "deadLetters": deployed_queue(resources, redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]) if redrive else None,
    }


def local_queue(sqs: Any, name: str) -> dict[str, Any]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
    return {
        "visibility": int(attributes["VisibilityTimeout"]),
        "retention": int(attributes["MessageRetentionPeriod"]),
        "maxReceiveCount": int(redrive["maxReceiveCount"]) if redrive else None,
        "deadLetters": local_queue(sqs, redrive["deadLetterTargetArn"].split(":")[-1]) if redrive else None,
    }


def deployed_mappings(resources: Resources) -> dict[str, dict[str, Any]]:
    """Function name -> how its event source mapping reads which queue."""
    functions = {
        function_named(resources, spec)[0]: (spec.name, function_named(resources, spec)[1]) for spec in c.FUNCTIONS
    }
    mappings = {}
    for mapping in of_type(resources, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        name, function = functions[properties["FunctionName"]["Ref"]]
        mappings[name] = {
            "batchSize": properties["BatchSize"],
            "partialBatchResponses": properties.get("FunctionResponseTypes") == ["ReportBatchItemFailures"],
            "functionTimeout": function["Properties"]["Timeout"],
            "queue": deployed_queue(resources, properties["EventSourceArn"]["Fn::GetAtt"][0]),
        }
    return mappings


@pytest.fixture
def sqs(aws: None, settings: Settings) -> Any:
    """The local stack's queues (in moto)."""
    sqs, s3, events = boto3.client("sqs"), boto3.client("s3"), boto3.client("events")
    create_bucket(s3, settings)
    events.create_event_bus(Name=settings.event_bus_name)
    create_import_queue(sqs, s3, settings)
    create_webhook_queue(sqs, events, settings)
    return sqs


def local_pumps(sqs: Any) -> dict[str, dict[str, Any]]:
    """Function name -> how its local pump reads: a poll of a queue holding more than a batch."""
    pumps = {}
    for spec, workers in PUMPED_QUEUES:
        pump = QueuePump(sqs, spec, lambda event, context: None, workers=workers)
        url = sqs.get_queue_url(QueueName=spec.local_name)["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(10)])
        pumps[pump.consumer.function] = {
            "batchSize": len(pump.receive()),
            "partialBatchResponses": pump.consumer.report_batch_item_failures,
            "functionTimeout": pump.consumer.timeout_seconds,
        }
    return pumps


def test_each_event_source_mapping_has_a_local_pump_reading_as_lambda_does(resources: Resources, sqs: Any) -> None:
    deployed = {name: {k: v for k, v in m.items() if k != "queue"} for name, m in deployed_mappings(resources).items()}

    assert local_pumps(sqs) == deployed
    assert set(deployed) == {"importer", "deadletter", "delivery"}


def test_local_queues_have_the_deployed_visibility_retention_and_redrive(resources: Resources, sqs: Any) -> None:
    deployed = deployed_mappings(resources)

    for spec, _ in PUMPED_QUEUES:
        assert local_queue(sqs, spec.local_name) == deployed[spec.reader().function]["queue"], spec.local_name
    # what the pumps rely on: a message comes back only after six function timeouts
    assert deployed["importer"]["queue"]["visibility"] == 6 * deployed["importer"]["functionTimeout"]
