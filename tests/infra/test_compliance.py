"""cdk-nag AwsSolutions with zero unacknowledged findings, resource-level acknowledgements only,
cfn-lint clean, and ``python app.py`` reading cdk.json like the CLI does."""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint.api
import pytest
from aws_cdk import Stack, Validations
from aws_cdk.assertions import Template

from infra.app import build_app
from tests.infra.helpers import NO_BUNDLING

# CDK adds explicit DependsOn next to GetAtt (role before function, queue before notification).
CFN_LINT_IGNORED = ["W3005"]


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(tmp_path: Path) -> None:
    app = build_app(context=NO_BUNDLING, nag=True, outdir=str(tmp_path))

    app.synth()  # raises ValidationFailed listing each finding

    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_acknowledgements_are_on_resources_with_a_reason_never_stack_wide() -> None:
    app = build_app(context=NO_BUNDLING, nag=False)

    acknowledged = [
        (node, rule, reason)
        for node in app.node.find_all()
        for entry in node.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    ]

    assert acknowledged
    assert not [rule for node, rule, _ in acknowledged if node is app or isinstance(node, Stack)]
    assert all(len(reason.split()) >= 6 for _, _, reason in acknowledged)


def test_synthesized_template_is_cfn_lint_clean(template: Template) -> None:
    matches = cfnlint.api.lint(
        json.dumps(template.to_json()), config=cfnlint.api.ManualArgs(ignore_checks=CFN_LINT_IGNORED)
    )

    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("flag", ["@aws-cdk/aws-lambda:recognizeLayerVersion", "@aws-cdk/core:enablePartitionLiterals"])
def test_app_reads_the_feature_flags_of_cdk_json(flag: str) -> None:
    app = build_app(context=NO_BUNDLING, nag=False)

    assert app.node.try_get_context(flag) is True
