"""Builds the CDK app. ``app.py`` at the repository root calls ``build_app().synth()``.

The CDK CLI hands cdk.json's context to the app in ``CDK_CONTEXT_JSON``; plain ``python app.py``
does not, so the context is read from cdk.json here and both produce the same template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra import constants as c
from infra.stack import RosteringStack

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The context the CLI would pass: its metadata defaults, then cdk.json's settings and context."""
    settings = json.loads(CDK_JSON.read_text(encoding="utf-8"))
    return {
        "aws:cdk:enable-path-metadata": settings.get("pathMetadata", True),
        "aws:cdk:enable-asset-metadata": settings.get("assetMetadata", True),
        "aws:cdk:version-reporting": settings.get("versionReporting", True),
        **settings.get("context", {}),
    }


def build_app(*, context: Mapping[str, Any] | None = None, nag: bool = True, outdir: str | None = None) -> App:
    """``context`` overrides cdk.json (tests pass e.g. ``aws:cdk:bundling-stacks``)."""
    merged = cdk_json_context()  # context from the CLI (CDK_CONTEXT_JSON) still takes precedence
    merged.update(context or {})
    app = App(context=merged, outdir=outdir)
    RosteringStack(app, c.STACK_NAME, description="Rostering Upload API (TAO Advance compatible)")
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
