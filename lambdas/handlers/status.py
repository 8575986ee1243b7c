"""Status Lambda: a job's status and its report download (``lambdas.common.routes``), read or
import scope."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import routes
from lambdas.common.config import Env, Settings
from lambdas.common.http import json_response, register_error_mapping
from lambdas.common.observability import logger, metrics
from lambdas.jobs.control import JobControl, parse_list_query
from lambdas.jobs.events import JobEvents
from lambdas.jobs.line import TenantLine
from lambdas.jobs.objects import JobFiles
from lambdas.jobs.queries import JobQueries
from lambdas.jobs.store import JobStore

# Cold start: the settings are checked at import (a missing name fails the init); the queries
# and their boto3 clients are built on first use, once per container.
settings = Settings.from_env(require=(Env.BUCKET_NAME, Env.JOBS_TABLE_NAME, Env.EVENT_BUS_NAME))
app = APIGatewayHttpResolver()
register_error_mapping(app)


@cache
def queries() -> JobQueries:
    return JobQueries(
        jobs=JobStore(settings.jobs_table),
        files=JobFiles(settings.bucket_name),
        events=JobEvents(settings.event_bus_name),
        line=TenantLine(settings.jobs_table),
        download_expiry_seconds=settings.download_url_expiry_seconds,
        holds=listing(),
    )


@cache
def listing() -> JobControl:
    """The imports list, and the 72-hour expiry of a hold seen by a read. This Lambda wakes
    nobody: a hold that expires here leaves the line, and the next job's own re-check starts it."""
    return JobControl(
        jobs=JobStore(settings.jobs_table),
        files=JobFiles(settings.bucket_name),
        events=JobEvents(settings.event_bus_name),
        line=TenantLine(settings.jobs_table),
        wake=lambda tenant, reference_id: None,
    )


def _tenant(route: routes.Route) -> str:
    return routes.caller(app.current_event.raw_event, route).tenant


@routes.register(app, routes.STATUS)
def status(referenceId: str) -> Response:
    return json_response(200, {"result": queries().status(tenant=_tenant(routes.STATUS), reference_id=referenceId)})


@routes.register(app, routes.DOWNLOAD)
def download(referenceId: str) -> Response:
    return json_response(200, {"result": queries().download(tenant=_tenant(routes.DOWNLOAD), reference_id=referenceId)})


@routes.register(app, routes.IMPORTS)
def imports() -> Response:
    tenant = _tenant(routes.IMPORTS)
    status, limit, after = parse_list_query(app.current_event.query_string_parameters)
    page = listing().list_imports(tenant=tenant, status=status, limit=limit, after=after)
    return json_response(200, {"result": page})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
