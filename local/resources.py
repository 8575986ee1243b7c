"""Create the service's AWS resources (in moto) from the shared definition in ``lambdas.common.schema``."""

from __future__ import annotations

import json
from typing import Any

from lambdas.common import schema
from lambdas.common.config import PENDING_PREFIX, Env, Settings
from lambdas.webhooks.events import bus_pattern

WEBHOOK_RULE_NAME = "rostering-webhook-events"


def resource_environment() -> dict[str, str]:
    """The local resource names as the environment variables the functions read (``make run``,
    tests, bench): the functions have no default of their own."""
    return {
        Env.BUCKET_NAME: schema.BUCKET_LOCAL_NAME,
        Env.JOBS_TABLE_NAME: schema.JOBS_TABLE.local_name,
        Env.ROSTER_TABLE_NAME: schema.ROSTER_TABLE.local_name,
        Env.IDEMPOTENCY_TABLE_NAME: schema.IDEMPOTENCY_TABLE.local_name,
        Env.TENANTS_TABLE_NAME: schema.TENANTS_TABLE.local_name,
        Env.EVENT_BUS_NAME: schema.EVENT_BUS_LOCAL_NAME,
        Env.WEBHOOK_KEY_ID: schema.WEBHOOK_KEY_LOCAL_ALIAS,
    }


def create_tables(dynamodb: Any, settings: Settings) -> None:
    names = {
        schema.JOBS_TABLE: settings.jobs_table,
        schema.ROSTER_TABLE: settings.roster_table,
        schema.IDEMPOTENCY_TABLE: settings.idempotency_table,
        schema.TENANTS_TABLE: settings.tenants_table,
    }
    for spec, name in names.items():
        create_table(dynamodb, spec, name)


def create_table(dynamodb: Any, spec: schema.TableSpec, name: str) -> None:
    """The table ``spec`` defines (keys, indexes, TTL) under ``name``; ``dynamodb`` is a client."""
    keys = [(spec.partition_key, "HASH")] + ([(spec.sort_key, "RANGE")] if spec.sort_key else [])
    attributes = dict.fromkeys(k for k, _ in keys)
    indexes = []
    for index in spec.indexes:
        attributes.update(dict.fromkeys((index.partition_key, index.sort_key)))
        indexes.append(
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in attributes],
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
    if spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
        )


def create_bucket(s3: Any, settings: Settings) -> None:
    s3.create_bucket(Bucket=settings.bucket_name)
    s3.put_bucket_encryption(
        Bucket=settings.bucket_name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def create_queue(sqs: Any, spec: schema.QueueSpec) -> tuple[str, str]:
    """The queue of ``spec`` (after its dead-letter queue) with the retention, visibility timeout and
    redrive the CDK stack gives it; its URL and ARN."""
    attributes = {}
    if spec.visibility_timeout_seconds is not None:
        attributes["VisibilityTimeout"] = str(spec.visibility_timeout_seconds)
    if spec.retention_seconds is not None:
        attributes["MessageRetentionPeriod"] = str(spec.retention_seconds)
    if spec.dead_letters is not None:
        _, dlq_arn = create_queue(sqs, spec.dead_letters)
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
        attributes["RedrivePolicy"] = json.dumps(redrive)
    url = sqs.create_queue(QueueName=spec.local_name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create_import_queue(sqs: Any, s3: Any, settings: Settings) -> dict[str, str]:
    """The import queue with its DLQ, fed by the bucket's ``import-csv/pending/*.csv`` notifications."""
    queue_url, queue_arn = create_queue(sqs, schema.IMPORT_QUEUE)
    s3.put_bucket_notification_configuration(
        Bucket=settings.bucket_name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": PENDING_PREFIX},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
            ]
        },
    )
    return {"queue_url": queue_url, "dlq_url": sqs.get_queue_url(QueueName=schema.IMPORT_DLQ.local_name)["QueueUrl"]}


def create_webhook_key(kms: Any, settings: Settings) -> str:
    """The KMS key that seals webhook signing secrets, under the alias the settings name."""
    key_id: str = kms.create_key(Description="Rostering webhook signing secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=settings.webhook_key_id, TargetKeyId=key_id)
    return key_id


def create_webhook_queue(sqs: Any, events: Any, settings: Settings) -> dict[str, str]:
    """The delivery queue with its DLQ, fed by the bus rule of HELD and terminal job events."""
    queue_url, queue_arn = create_queue(sqs, schema.WEBHOOK_QUEUE)
    events.put_rule(
        Name=WEBHOOK_RULE_NAME, EventBusName=settings.event_bus_name, EventPattern=json.dumps(bus_pattern())
    )
    events.put_targets(
        Rule=WEBHOOK_RULE_NAME, EventBusName=settings.event_bus_name, Targets=[{"Id": "deliveries", "Arn": queue_arn}]
    )
    dlq_url = sqs.get_queue_url(QueueName=schema.WEBHOOK_DLQ.local_name)["QueueUrl"]
    return {"queue_url": queue_url, "dlq_url": dlq_url, "queue_arn": queue_arn}
