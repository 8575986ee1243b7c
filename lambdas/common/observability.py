"""Powertools Logger and Metrics shared by every function (one service name, one namespace).

No Tracer: it pulls the X-Ray SDK (maintenance mode since 2026-02) into cold start.
"""

from aws_lambda_powertools import Logger, Metrics

SERVICE = "rostering"
NAMESPACE = "Rostering"


class Metric:
    """The metric names the functions emit (alarms in ``infra/monitoring.py`` read them here)."""

    FILES_UPLOADED = "FilesUploaded"
    IMPORTS_COMPLETED = "ImportsCompleted"
    # An import ended FAILED through our fault (the service could not import a valid file): alarmed.
    IMPORTS_FAILED = "ImportsFailed"
    # An import ended FAILED because of what the client sent or did not send (bad header, unknown
    # template, not a CSV, too large, no file before the upload deadline): counted, never alarmed.
    IMPORTS_REJECTED = "ImportsRejected"


# File-level codes of a FAILED job that are the service's fault; every other code is the client's.
SERVER_FAILURE_CODES = frozenset({"INTERNAL_ERROR", "IMPORT_ERROR", "IMPORT_FAILED"})  # IMPORT_FAILED: the DLQ


def failure_metric(code: str | None) -> str:
    """The metric a FAILED job with file-level error ``code`` counts in."""
    return Metric.IMPORTS_FAILED if code in SERVER_FAILURE_CODES else Metric.IMPORTS_REJECTED


logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
