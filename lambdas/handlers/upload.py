"""Upload Lambda: the direct upload route and the presigned-upload route (``lambdas.common.routes``)."""

from __future__ import annotations

import binascii
import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import routes
from lambdas.common.config import Env, Settings
from lambdas.common.errors import MalformedRequest
from lambdas.common.http import json_response, register_error_mapping
from lambdas.common.observability import Metric, logger, metrics
from lambdas.intake.form import read_upload_form
from lambdas.intake.service import IntakeService
from lambdas.jobs.hold import FIELD as CHANGE_THRESHOLD_FIELD
from lambdas.jobs.hold import parse_threshold

# Cold start: the settings are checked at import (a missing name fails the init); the service
# and its boto3 clients are built on first use, once per container.
settings = Settings.from_env(require=(Env.BUCKET_NAME, Env.JOBS_TABLE_NAME, Env.IDEMPOTENCY_TABLE_NAME))
app = APIGatewayHttpResolver()
register_error_mapping(app)


@cache
def service() -> IntakeService:
    from lambdas.intake.objects import ObjectStore
    from lambdas.jobs.line import TenantLine
    from lambdas.jobs.store import JobStore

    return IntakeService(
        settings,
        jobs=JobStore(settings.jobs_table),
        objects=ObjectStore(settings.bucket_name),
        line=TenantLine(settings.jobs_table),
    )


@routes.register(app, routes.UPLOAD)
def upload() -> Response:
    event = app.current_event
    caller = routes.caller(event.raw_event, routes.UPLOAD)
    form = read_upload_form(
        event.raw_event.get("body"),
        is_base64=bool(event.is_base64_encoded),
        content_type=event.headers.get("content-type"),
        max_bytes=settings.max_upload_bytes,
    )
    result = service().accept(
        caller, form, idempotency_key=event.headers.get("idempotency-key"), lambda_context=app.lambda_context
    )
    metrics.add_metric(name=Metric.FILES_UPLOADED, unit="Count", value=1)
    return json_response(200, {"result": result})


@routes.register(app, routes.UPLOAD_URL)
def upload_url() -> Response:
    caller = routes.caller(app.current_event.raw_event, routes.UPLOAD_URL)
    options = _json_options(app.current_event.raw_event)
    file_name = options.get("fileName", "upload.csv")
    dry_run = options.get("dryRun", False)
    if not isinstance(file_name, str) or not file_name or not isinstance(dry_run, bool):
        raise MalformedRequest(
            'The body must be JSON like {"fileName": "users.csv", "dryRun": false, "changeThreshold": 25}.'
        )
    threshold = parse_threshold(options.get(CHANGE_THRESHOLD_FIELD))
    result = service().presign(caller, file_name=file_name, dry_run=dry_run, change_threshold=threshold)
    return json_response(200, {"result": result})


def _json_options(event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body") or ""
    try:
        raw = binascii.a2b_base64(body) if event.get("isBase64Encoded") else body
        options = json.loads(raw) if raw else {}
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: arrays nested 100,000 deep
        raise MalformedRequest("The body must be a JSON object or empty.") from None
    if not isinstance(options, dict):
        raise MalformedRequest("The body must be a JSON object or empty.")
    return options


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
