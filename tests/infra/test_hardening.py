"""Template hardening, one assertion each: the S3→SQS queue policy names the account beside the
bucket, the importer has explicit item actions (no Scan, no stream reads), every Lambda of the stack
(CDK's BucketNotificationsHandler included) logs to a log group with retention, and only the
service's own import failures are alarmed."""

from __future__ import annotations

from typing import Any

from infra import constants as c
from tests.infra.helpers import Resources, actions_of, of_type, role_statements


def test_the_queue_policy_names_the_source_account_beside_the_source_bucket(resources: Resources) -> None:
    statements = [
        statement
        for policy in of_type(resources, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    assert len(statements) == 1
    conditions = statements[0]["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert conditions["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][1] == "Arn"
    assert "sqs:SendMessage" in actions_of(statements[0])


def test_the_importer_role_has_explicit_item_actions_and_no_scan_or_stream_reads(resources: Resources) -> None:
    actions = {action for s in role_statements(resources, c.IMPORTER) for action in actions_of(s)}
    dynamo = {a for a in actions if a.startswith("dynamodb:")}
    assert dynamo == set(c.IMPORTER_TABLE_ACTIONS)
    assert not dynamo & {"dynamodb:Scan", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:*"}


def test_every_function_logs_to_a_log_group_with_retention(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    log_groups = of_type(resources, "AWS::Logs::LogGroup")
    assert len(functions) == len(c.FUNCTIONS) + 1  # + CDK's BucketNotificationsHandler
    for name, function in functions.items():
        reference: Any = function["Properties"]["LoggingConfig"]["LogGroup"]
        group = log_groups[reference["Ref"]]
        assert group["Properties"]["RetentionInDays"] == 30, name


def test_only_the_services_own_import_failures_are_alarmed(resources: Resources) -> None:
    metrics = [a["Properties"].get("MetricName") for a in of_type(resources, "AWS::CloudWatch::Alarm").values()]
    assert metrics.count(c.IMPORTS_FAILED_METRIC) == 1
    assert c.IMPORTS_REJECTED_METRIC not in metrics
    dashboards = of_type(resources, "AWS::CloudWatch::Dashboard").values()
    assert any(c.IMPORTS_REJECTED_METRIC in str(d["Properties"]["DashboardBody"]) for d in dashboards)
