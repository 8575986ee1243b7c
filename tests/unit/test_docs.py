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
