"""FAILED imports are counted by cause: the client's (ImportsRejected, never alarmed) or the
service's (ImportsFailed, alarmed). A bad header and an upload that never came are the client's."""

from __future__ import annotations

import pytest

from lambdas.common.observability import Metric, failure_metric
from lambdas.jobs.model import UPLOAD_NOT_RECEIVED


@pytest.mark.parametrize(
    "code",
    ["UNKNOWN_TEMPLATE", "MISSING_HEADER", "MALFORMED_CSV", "INVALID_FILE_TYPE", "FILE_TOO_LARGE", UPLOAD_NOT_RECEIVED],
)
def test_client_caused_failures_count_as_rejected(code: str) -> None:
    assert failure_metric(code) == Metric.IMPORTS_REJECTED


@pytest.mark.parametrize("code", ["INTERNAL_ERROR", "IMPORT_ERROR"])
def test_server_caused_failures_count_as_failed(code: str) -> None:
    assert failure_metric(code) == Metric.IMPORTS_FAILED
