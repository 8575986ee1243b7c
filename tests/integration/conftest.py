"""Fixtures of several integration suites: the roster table alone, and the import stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from lambdas.common.config import Settings
from testkit.import_stack import ImportStack, build_import_stack
from tests.roster_fixtures import create_roster_table


@pytest.fixture
def resource() -> Iterator[Any]:
    """A DynamoDB resource on the roster table alone (moto)."""
    with mock_aws():
        yield create_roster_table()


@pytest.fixture
def stack(resources: dict[str, Any], settings: Settings) -> ImportStack:
    return build_import_stack(resources, settings)
