"""Session-scoped synths: building the app costs seconds (jsii), so each variant is built once.
Bundling is skipped (``aws:cdk:bundling-stacks=[]``) everywhere except ``test_bundle.py``."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from infra import constants as c
from infra.app import build_app
from tests.infra.helpers import NO_BUNDLING, stack_of

OPTIONS: dict[str, Any] = {
    c.CTX_ALARM_EMAIL: "ops@example.org",
    c.CTX_PENDING_EXPIRATION_DAYS: 3,
    c.CTX_DELETION_PROTECTION: "false",  # as `-c key=value` passes it
    c.CTX_DOMAIN_PREFIX: "district-rostering",
}


@pytest.fixture(scope="session")
def template() -> Template:
    """The default deployment (cdk.json context only)."""
    return Template.from_stack(stack_of(build_app(context=NO_BUNDLING, nag=False)))


@pytest.fixture(scope="session")
def options_template() -> Template:
    """Every optional feature on: alarm topic, shorter expiry, no deletion protection."""
    return Template.from_stack(stack_of(build_app(context={**NO_BUNDLING, **OPTIONS}, nag=False)))


@pytest.fixture(scope="session")
def resources(template: Template) -> dict[str, dict[str, Any]]:
    return dict(template.to_json()["Resources"])
