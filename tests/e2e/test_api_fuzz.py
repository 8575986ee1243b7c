"""API fuzzing of the local stack from openapi.yaml (schemathesis): no 5xx, and every answer
matches the documented status codes, content types, headers and schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "openapi.yaml")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def bearer(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token()}"}


@schema.parametrize()
def test_api_conforms_to_openapi(case, stack, bearer):
    headers = {} if case.operation.path.endswith("/oauth2/tokens") else bearer
    case.call_and_validate(base_url=stack.base_url, headers=headers, checks=CHECKS)
