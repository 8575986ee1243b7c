"""Cognito pool and tenants, alarms and dashboard, stack outputs."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from infra import constants as c
from tests.infra.helpers import Resources, of_type


def test_pool_has_no_self_sign_up_and_deletion_protection_by_default(template: Template) -> None:
    template.has_resource(
        "AWS::Cognito::UserPool",
        {
            "Properties": Match.object_like(
                {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}, "DeletionProtection": "ACTIVE"}
            ),
            "DeletionPolicy": "Retain",
        },
    )


def test_deletion_protection_can_be_switched_off_by_context(options_template: Template) -> None:
    options_template.has_resource_properties("AWS::Cognito::UserPool", {"DeletionProtection": "INACTIVE"})


def test_resource_server_declares_the_import_and_read_scopes(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "Identifier": "rostering",
            "Scopes": Match.array_with(
                [Match.object_like({"ScopeName": "import"}), Match.object_like({"ScopeName": "read"})]
            ),
        },
    )


def test_hosted_domain_prefix_comes_from_context_or_the_account(template: Template, options_template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPoolDomain", {"Domain": {"Fn::Join": ["", ["rostering-", {"Ref": "AWS::AccountId"}]]}}
    )
    options_template.has_resource_properties("AWS::Cognito::UserPoolDomain", {"Domain": "district-rostering"})


def test_the_stack_makes_no_tenant_client(template: Template, options_template: Template) -> None:
    # Tenants are made by `python -m ops.tenants` only (docs/AUTH.md)
    template.resource_count_is("AWS::Cognito::UserPoolClient", 0)
    options_template.resource_count_is("AWS::Cognito::UserPoolClient", 0)


def alarm_metrics(resources: Resources) -> list[tuple[str, str]]:
    return [
        (a["Properties"].get("Namespace"), a["Properties"].get("MetricName"))
        for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
    ]


def test_alarms_cover_dlq_api_5xx_failed_imports_and_each_function(resources: Resources) -> None:
    metrics = alarm_metrics(resources)

    assert metrics.count(("AWS/SQS", "ApproximateNumberOfMessagesVisible")) == 2  # import and webhook DLQs
    assert metrics.count(("Rostering", "WebhookDeliveriesAbandoned")) == 1
    assert metrics.count(("AWS/ApiGateway", "5xx")) == 1
    assert metrics.count(("Rostering", "ImportsFailed")) == 1
    assert metrics.count(("AWS/Lambda", "Errors")) == len(c.FUNCTIONS)
    assert metrics.count(("AWS/Lambda", "Throttles")) == len(c.FUNCTIONS)


def test_failed_imports_alarm_reads_the_importer_emf_metric(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "Rostering",
            "MetricName": "ImportsFailed",
            "Dimensions": [{"Name": "service", "Value": "rostering"}],
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def test_dlq_alarms_watch_the_dead_letter_queues(resources: Resources) -> None:
    dlq_alarms = [
        a
        for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    assert len(dlq_alarms) == 2  # the import queue's and the webhook delivery queue's
    for dlq_alarm in dlq_alarms:
        queue_ref = dlq_alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        assert "RedrivePolicy" not in resources[queue_ref]["Properties"]  # the DLQ, not the main queue
        assert any(
            q["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn") == {"Fn::GetAtt": [queue_ref, "Arn"]}
            for q in of_type(resources, "AWS::SQS::Queue").values()
        )


def test_alarms_have_no_actions_without_a_topic_and_a_dashboard_exists(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Topic", 0)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    assert all(
        "AlarmActions" not in a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    )


def test_alarm_email_creates_an_encrypted_topic_that_every_alarm_notifies(options_template: Template) -> None:
    ((topic_id, topic),) = options_template.find_resources("AWS::SNS::Topic").items()
    alarms = options_template.find_resources("AWS::CloudWatch::Alarm").values()

    assert "KmsMasterKeyId" in topic["Properties"]
    options_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.org"}
    )
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for a in alarms)


def test_outputs_give_clients_and_ops_tenants_what_they_need(template: Template) -> None:
    outputs = template.to_json()["Outputs"]

    assert {"ApiUrl", "TokenUrl", "CognitoTokenEndpoint", "UserPoolId", "BucketName", "TenantsTableName"} <= set(
        outputs
    )
    assert outputs["TenantsTableName"]["Value"]["Ref"].startswith("StorageTenants")
