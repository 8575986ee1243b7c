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
    IMPORTS_FAILED = "ImportsFailed"


logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
