"""Control Lambda: approve, discard and abort an import, and the tenant's webhook (docs/JOB_CONTROL.md)."""

from __future__ import annotations

import binascii
import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import routes
from lambdas.common.config import Env, Settings
from lambdas.common.errors import MalformedRequest
from lambdas.common.http import json_response, register_error_mapping
from lambdas.common.observability import logger
from lambdas.importer.messages import wake_message
from lambdas.jobs.control import JobControl
from lambdas.jobs.events import JobEvents
from lambdas.jobs.line import TenantLine
from lambdas.jobs.model import status_view
from lambdas.jobs.objects import JobFiles
from lambdas.jobs.store import JobStore
from lambdas.webhooks.service import WebhookSettings
from lambdas.webhooks.store import SecretBox, WebhookStore
from lambdas.webhooks.urls import UrlPolicy

# Cold start: the settings are checked at import (a missing name fails the init); the services
# and their boto3 clients are built on first use, once per container.
settings = Settings.from_env(
    require=(
        Env.BUCKET_NAME,
        Env.JOBS_TABLE_NAME,
        Env.EVENT_BUS_NAME,
        Env.IMPORT_QUEUE_URL,
        Env.TENANTS_TABLE_NAME,
        Env.WEBHOOK_KEY_ID,
    )
)
app = APIGatewayHttpResolver()
register_error_mapping(app)


@cache
def control() -> JobControl:
    sqs = boto3.client("sqs")

    def wake(tenant: str, reference_id: str) -> None:
        sqs.send_message(QueueUrl=settings.import_queue_url, MessageBody=wake_message(tenant, reference_id))

    return JobControl(
        jobs=JobStore(settings.jobs_table),
        files=JobFiles(settings.bucket_name),
        events=JobEvents(settings.event_bus_name),
        line=TenantLine(settings.jobs_table),
        wake=wake,
    )


@cache
def webhooks() -> WebhookSettings:
    return WebhookSettings(
        store=WebhookStore(settings.tenants_table),
        secrets=SecretBox(settings.webhook_key_id),
        policy=UrlPolicy(allow_loopback=settings.webhook_allow_loopback),
    )


def _tenant(route: routes.Route) -> str:
    return routes.caller(app.current_event.raw_event, route).tenant


@routes.register(app, routes.APPROVE)
def approve(referenceId: str) -> Response:
    job = control().approve(tenant=_tenant(routes.APPROVE), reference_id=referenceId)
    return json_response(200, {"result": status_view(job)})


@routes.register(app, routes.DISCARD)
def discard(referenceId: str) -> Response:
    job = control().discard(tenant=_tenant(routes.DISCARD), reference_id=referenceId)
    return json_response(200, {"result": status_view(job)})


@routes.register(app, routes.ABORT)
def abort(referenceId: str) -> Response:
    job = control().abort(tenant=_tenant(routes.ABORT), reference_id=referenceId)
    return json_response(200, {"result": status_view(job)})


@routes.register(app, routes.WEBHOOK_PUT)
def put_webhook() -> Response:
    tenant = _tenant(routes.WEBHOOK_PUT)
    return json_response(200, {"result": webhooks().register(tenant, _json_body(app.current_event.raw_event))})


@routes.register(app, routes.WEBHOOK_GET)
def get_webhook() -> Response:
    return json_response(200, {"result": webhooks().show(_tenant(routes.WEBHOOK_GET))})


@routes.register(app, routes.WEBHOOK_DELETE)
def delete_webhook() -> Response:
    return json_response(200, {"result": webhooks().delete(_tenant(routes.WEBHOOK_DELETE))})


def _json_body(event: dict[str, Any]) -> Any:
    body = event.get("body") or ""
    try:
        raw = binascii.a2b_base64(body) if event.get("isBase64Encoded") else body
        return json.loads(raw)
    except (ValueError, binascii.Error):
        raise MalformedRequest('The body must be JSON like {"url": "https://...", "events": [...]}.') from None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
