"""Powertools Logger and Metrics shared by every function (one service name, one namespace).

No Tracer: it pulls the X-Ray SDK (maintenance mode since 2026-02) into cold start.
"""

from aws_lambda_powertools import Logger, Metrics

SERVICE = "rostering"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Rostering", service=SERVICE)
