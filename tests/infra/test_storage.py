"""Bucket and tables: encryption, public access, TLS, lifecycle, PITR, keys and TTL from schema.py."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra import constants as c
from lambdas.common import schema
from tests.infra.helpers import Resources, function_named, of_type

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def uploads_bucket(resources: Resources) -> dict[str, Any]:
    return next(
        r["Properties"] for n, r in of_type(resources, "AWS::S3::Bucket").items() if n.startswith("StorageUploads")
    )


def lifecycle(template: Template) -> dict[str, dict[str, Any]]:
    bucket = uploads_bucket(dict(template.to_json()["Resources"]))
    return {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}


def test_every_bucket_blocks_public_access_and_denies_plain_http(template: Template) -> None:
    buckets = template.find_resources("AWS::S3::Bucket")
    policies = template.find_resources("AWS::S3::BucketPolicy")

    assert len(buckets) == 2
    assert all(b["Properties"]["PublicAccessBlockConfiguration"] == BLOCK_ALL for b in buckets.values())
    denied = {
        p["Properties"]["Bucket"]["Ref"]
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert denied == set(buckets)


def test_uploads_bucket_uses_a_rotated_customer_managed_key_versioning_and_access_logs(resources: Resources) -> None:
    bucket = uploads_bucket(resources)
    ((key_id, key),) = [
        (k, v)
        for k, v in of_type(resources, "AWS::KMS::Key").items()
        if v["Properties"]["Description"] == "Rostering uploads and reports"
    ]

    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert sse["BucketKeyEnabled"] is True
    assert key["Properties"]["EnableKeyRotation"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("StorageAccessLogs")


@pytest.mark.parametrize("prefix", c.PASSWORD_PREFIXES)
def test_objects_that_may_hold_passwords_expire_after_seven_days_by_default(template: Template, prefix: str) -> None:
    rules = [r for r in lifecycle(template).values() if r.get("Prefix") == prefix]

    assert [(r["Status"], r["ExpirationInDays"]) for r in rules] == [("Enabled", 7)]


def test_password_expiry_follows_the_context_setting(options_template: Template) -> None:
    days = {r["Prefix"]: r["ExpirationInDays"] for r in lifecycle(options_template).values() if "Prefix" in r}

    assert {days[p] for p in c.PASSWORD_PREFIXES} == {3}


def test_result_reports_are_kept_thirty_days_and_old_versions_expire(template: Template) -> None:
    rules = lifecycle(template).values()

    assert [r["ExpirationInDays"] for r in rules if r.get("Prefix") == "import-csv/results/"] == [30]
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == 1 for r in rules)


TABLE_ENV = {
    schema.JOBS_TABLE: (c.IMPORTER, c.Env.JOBS_TABLE_NAME),
    schema.ROSTER_TABLE: (c.IMPORTER, c.Env.ROSTER_TABLE_NAME),
    schema.IDEMPOTENCY_TABLE: (c.IMPORTER, c.Env.IDEMPOTENCY_TABLE_NAME),
    schema.TENANTS_TABLE: (c.AUTHORIZER, c.Env.TENANTS_TABLE_NAME),
}


@pytest.mark.parametrize("spec", schema.TABLES, ids=lambda s: s.local_name)
def test_table_keys_and_ttl_come_from_schema(resources: Resources, spec: schema.TableSpec) -> None:
    spec_of_reader, variable = TABLE_ENV[spec]
    _, reader = function_named(resources, spec_of_reader)
    table_id = reader["Properties"]["Environment"]["Variables"][variable]["Ref"]
    table = resources[table_id]["Properties"]

    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    assert table["KeySchema"] == keys
    if spec.ttl_attribute:
        assert table["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in table


def test_idempotency_table_matches_powertools_layout(resources: Resources) -> None:
    tables = of_type(resources, "AWS::DynamoDB::GlobalTable").values()

    assert any(
        t["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        and t["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
        for t in tables
    )


def test_tables_are_on_demand_encrypted_with_point_in_time_recovery(resources: Resources) -> None:
    tables = of_type(resources, "AWS::DynamoDB::GlobalTable")

    assert len(tables) == len(schema.TABLES)
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        (replica,) = props["Replicas"]
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
