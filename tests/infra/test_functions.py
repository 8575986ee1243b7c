"""Lambda functions: runtime, architecture, sizes, logs, environment and least-privilege roles."""

from __future__ import annotations

import json

import pytest

from infra import constants as c
from lambdas.common.config import Settings
from tests.infra.helpers import Resources, actions_of, function_named, of_type, role_statements

DATA_SERVICES = ("s3:", "dynamodb:", "kms:", "sqs:", "events:")


@pytest.mark.parametrize("spec", c.FUNCTIONS, ids=lambda s: s.name)
def test_function_runs_python_313_on_arm64_with_its_size_and_timeout(
    resources: Resources, spec: c.FunctionSpec
) -> None:
    _, function = function_named(resources, spec)
    props = function["Properties"]

    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout.to_seconds()
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "rostering"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Rostering"
    assert env["LOG_LEVEL"] == "INFO"


def test_sizes_follow_the_workload() -> None:
    assert (c.UPLOAD.memory_mb, c.UPLOAD.timeout.to_seconds()) == (1024, 29)  # holds the file; HTTP API waits 30 s
    assert c.IMPORTER.memory_mb == 3584 and c.IMPORTER.timeout.to_seconds() >= 300  # the capacity model's
    assert c.TOKEN.memory_mb == c.STATUS.memory_mb == 256


@pytest.mark.parametrize("spec", c.FUNCTIONS, ids=lambda s: s.name)
def test_function_logs_to_its_own_log_group_kept_30_days(resources: Resources, spec: c.FunctionSpec) -> None:
    _, function = function_named(resources, spec)
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]

    assert resources[log_group_id]["Properties"]["RetentionInDays"] == 30


def test_every_environment_variable_we_set_is_read_by_settings() -> None:
    names = [v for k, v in vars(c.Env).items() if not k.startswith("_")]
    defaults = Settings.from_env({})

    for name in names:
        value = "true" if name == c.Env.WEBHOOK_ALLOW_LOOPBACK else "4242"
        changed = Settings.from_env({name: value})
        assert changed != defaults, f"{name} is not read by Settings.from_env"


@pytest.mark.parametrize("spec", c.FUNCTIONS, ids=lambda s: s.name)
def test_roles_have_no_wildcard_actions_on_data(resources: Resources, spec: c.FunctionSpec) -> None:
    actions = [a for s in role_statements(resources, spec) for a in actions_of(s)]

    assert actions, "the role has no policy at all"
    assert not [a for a in actions if a == "*" or (a.startswith(DATA_SERVICES) and "*" in a)]


def test_roles_use_no_managed_policies(resources: Resources) -> None:
    function_roles = {
        f["Properties"]["Role"]["Fn::GetAtt"][0] for f in of_type(resources, "AWS::Lambda::Function").values()
    }
    ours = {function_named(resources, spec)[1]["Properties"]["Role"]["Fn::GetAtt"][0] for spec in c.FUNCTIONS}

    assert ours <= function_roles
    assert all("ManagedPolicyArns" not in resources[role]["Properties"] for role in ours)


def object_grants(resources: Resources, spec: c.FunctionSpec) -> set[tuple[str, str]]:
    """(action, key prefix) pairs the role holds on bucket objects."""
    grants = set()
    for statement in role_statements(resources, spec):
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for target in targets:
            if isinstance(target, dict) and "Fn::Join" in target:
                prefix = target["Fn::Join"][1][1].removeprefix("/").removesuffix("*")
                grants |= {(action, prefix) for action in actions_of(statement) if action.startswith("s3:")}
    return grants


def test_upload_may_only_put_pending_objects(resources: Resources) -> None:
    assert object_grants(resources, c.UPLOAD) == {("s3:PutObject", "import-csv/pending/")}


def test_status_may_only_read_reports_and_move_pending_objects_to_failed(resources: Resources) -> None:
    # (the lazy expiry of an upload that never arrived, or of a hold unanswered for 72 hours)
    assert object_grants(resources, c.STATUS) == {
        ("s3:GetObject", "import-csv/results/"),
        ("s3:GetObject", "import-csv/pending/"),
        ("s3:DeleteObject", "import-csv/pending/"),
        ("s3:PutObject", "import-csv/failed/"),
    }


def test_control_moves_pending_objects_to_failed_and_reads_nothing_else(resources: Resources) -> None:
    assert object_grants(resources, c.CONTROL) == {
        ("s3:GetObject", "import-csv/pending/"),
        ("s3:DeleteObject", "import-csv/pending/"),
        ("s3:PutObject", "import-csv/failed/"),
    }


def test_control_updates_jobs_writes_tenants_and_only_encrypts_with_the_webhook_key(resources: Resources) -> None:
    granted = table_actions(resources, c.CONTROL)
    actions = {a for s in role_statements(resources, c.CONTROL) for a in actions_of(s)}
    jobs = next(v for k, v in granted.items() if k.startswith("StorageJobs"))
    tenants = next(v for k, v in granted.items() if k.startswith("StorageTenants"))
    # UpdateItem: state changes; DeleteItem: an aborted or discarded job leaves its tenant's line
    assert {a for a in jobs if a.endswith(("PutItem", "UpdateItem", "DeleteItem", "WriteItem"))} == {
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert "dynamodb:PutItem" in tenants
    assert {"kms:Encrypt", "sqs:SendMessage", "events:PutEvents"} <= actions
    webhook_key_actions = {
        a
        for s in role_statements(resources, c.CONTROL)
        if "WebhooksSecretsKey" in json.dumps(s["Resource"])
        for a in actions_of(s)
    }
    assert webhook_key_actions == {"kms:Encrypt"}  # it seals secrets; only the delivery function opens them


def test_delivery_decrypts_secrets_changes_visibility_and_touches_no_bucket(resources: Resources) -> None:
    actions = {a for s in role_statements(resources, c.DELIVERY) for a in actions_of(s)}
    assert {"kms:Decrypt", "sqs:ChangeMessageVisibility", "dynamodb:PutItem"} <= actions
    assert not [a for a in actions if a.startswith("s3:")]
    assert object_grants(resources, c.DELIVERY) == set()


def test_importer_reads_writes_and_deletes_only_under_import_csv(resources: Resources) -> None:
    assert object_grants(resources, c.IMPORTER) == {
        ("s3:GetObject", "import-csv/"),
        ("s3:PutObject", "import-csv/"),
        ("s3:DeleteObject", "import-csv/"),
    }


def test_token_function_touches_no_data(resources: Resources) -> None:
    actions = {a for s in role_statements(resources, c.TOKEN) for a in actions_of(s)}

    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}


def table_actions(resources: Resources, spec: c.FunctionSpec) -> dict[str, set[str]]:
    """Table logical id -> DynamoDB actions granted on it."""
    granted: dict[str, set[str]] = {}
    for statement in role_statements(resources, spec):
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for target in targets:
            if (
                isinstance(target, dict)
                and "Fn::GetAtt" in target
                and resources[target["Fn::GetAtt"][0]]["Type"] == "AWS::DynamoDB::GlobalTable"
            ):
                granted.setdefault(target["Fn::GetAtt"][0], set()).update(actions_of(statement))
    return granted


def test_status_reads_jobs_and_may_only_update_one_to_expire_it_and_leave_the_line(resources: Resources) -> None:
    granted = table_actions(resources, c.STATUS)
    actions = {a for s in role_statements(resources, c.STATUS) for a in actions_of(s)}

    assert [name.startswith("StorageJobs") for name in granted] == [True]
    writes = {
        a for a in next(iter(granted.values())) if a.endswith(("PutItem", "UpdateItem", "DeleteItem", "WriteItem"))
    }
    assert writes == {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}  # an expired hold leaves its tenant's line
    assert "events:PutEvents" in actions


def test_upload_writes_jobs_and_idempotency_but_not_the_roster(resources: Resources) -> None:
    granted = table_actions(resources, c.UPLOAD)

    assert sorted(n.rstrip("0123456789ABCDEF") for n in granted) == ["StorageIdempotency", "StorageJobs"]
    assert all("dynamodb:PutItem" in actions for actions in granted.values())


def test_importer_writes_jobs_and_roster_sends_chunks_and_publishes_events(resources: Resources) -> None:
    actions = {a for s in role_statements(resources, c.IMPORTER) for a in actions_of(s)}
    granted = table_actions(resources, c.IMPORTER)

    assert sorted(n.rstrip("0123456789ABCDEF") for n in granted) == ["StorageJobs", "StorageRoster"]
    assert {"sqs:SendMessage", "events:PutEvents", "kms:Decrypt", "kms:GenerateDataKey"} <= actions
