"""The docs stand alone: no pointer to a specification outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "openapi.yaml", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_doc_points_at_an_outside_spec(doc: Path):
    text = doc.read_text(encoding="utf-8")
    assert re.findall(r"\bSPEC\b|reference/[\w-]+\.md|shared/", text) == []


def test_the_readme_states_the_queue_settings_the_stacks_use():
    # "What differs from AWS" repeats the SQS figures of lambdas/common/schema.py: they must agree.
    from lambdas.common import schema

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    minutes = {
        name: spec.visibility_timeout_seconds // 60
        for name, spec in (
            ("import", schema.IMPORT_QUEUE),
            ("import DLQ", schema.IMPORT_DLQ),
            ("delivery", schema.WEBHOOK_QUEUE),
        )
        if spec.visibility_timeout_seconds is not None
    }
    expected = [
        f"(import {minutes['import']} min, import DLQ {minutes['import DLQ']} min, delivery {minutes['delivery']} min)",
        f"{schema.IMPORT_QUEUE.max_receive_count} (import) and {schema.WEBHOOK_QUEUE.max_receive_count} (delivery) "
        "receives before the DLQ",
        f"the import lease {schema.IMPORT_LEASE_SECONDS} s",
    ]
    assert {spec.reader().batch_size for spec in (schema.IMPORT_QUEUE, schema.IMPORT_DLQ, schema.WEBHOOK_QUEUE)} == {1}
    assert "batch size 1 on the import queue, its dead-letter queue and the delivery queue" in readme
    assert [fragment for fragment in expected if fragment not in readme] == []
