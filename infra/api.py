"""HTTP API with the tenant authorizer and the HTTP functions (upload, status, token, control).

The authorizer is a Lambda REQUEST authorizer (``lambdas/authorizer``): it verifies the Cognito
access token as the JWT authorizer would, checks the route's scopes, and accepts only clients
registered in the tenants table by ``python -m ops.tenants``. Its configuration names no tenant,
so onboarding needs no deploy and has no 50-audience ceiling (docs/AUTH.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.auth import Auth
from infra.functions import PythonFunction
from infra.storage import Storage
from infra.webhooks import Webhooks
from lambdas.common import routes

_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "clientId": "$context.authorizer.client_id",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Backends:
    """What the API's functions reach: Cognito, the stores, the job events bus, the import queue and
    the webhooks' key."""

    auth: Auth
    storage: Storage
    job_events: events.IEventBus
    import_queue: sqs.IQueue
    webhooks: Webhooks


class Api(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, backends: Backends, code: lambda_.Code, log_level: str
    ) -> None:
        super().__init__(scope, construct_id)
        self._functions(backends, code=code, log_level=log_level)
        self._grant(backends)
        self._authorize(backends, code=code, log_level=log_level)
        self._stage()
        http_functions = (self.upload, self.status, self.token, self.control)
        self._routes({target.spec.name: target for target in http_functions})
        self.functions = (*http_functions, self.authorizer_function)  # monitored like the others
        self.url = self.http_api.api_endpoint + "/"

    def _functions(self, backends: Backends, *, code: lambda_.Code, log_level: str) -> None:
        defaults = c.SETTINGS_DEFAULTS
        storage, job_events = backends.storage, backends.job_events

        def function(construct_id: str, spec: c.FunctionSpec, environment: dict[str, str]) -> PythonFunction:
            return PythonFunction(
                self, construct_id, spec=spec, code=code, log_level=log_level, environment=environment
            )

        self.upload = function(
            "Upload",
            c.UPLOAD,
            {
                **storage.environment,
                c.Env.MAX_UPLOAD_BYTES: str(defaults.max_upload_bytes),
                c.Env.UPLOAD_URL_EXPIRY_SECONDS: str(defaults.upload_url_expiry_seconds),
            },
        )
        self.status = function(
            "Status",
            c.STATUS,
            {
                **storage.environment,
                c.Env.EVENT_BUS_NAME: job_events.event_bus_name,
                c.Env.DOWNLOAD_URL_EXPIRY_SECONDS: str(defaults.download_url_expiry_seconds),
            },
        )
        self.token = function("Token", c.TOKEN, {c.Env.TOKEN_ENDPOINT_URL: backends.auth.token_endpoint_url})
        self.control = function(
            "Control",
            c.CONTROL,
            {
                **storage.environment,
                **backends.webhooks.environment,
                c.Env.EVENT_BUS_NAME: job_events.event_bus_name,
                c.Env.IMPORT_QUEUE_URL: backends.import_queue.queue_url,
            },
        )

    def _grant(self, backends: Backends) -> None:
        storage, job_events = backends.storage, backends.job_events
        # Upload: write the job and the idempotency record, store the file or sign a POST for it.
        storage.jobs.grant_read_write_data(self.upload.role)
        storage.idempotency.grant_read_write_data(self.upload.role)
        storage.grant_objects(self.upload.role, "s3:PutObject", prefix=c.PENDING_PREFIX)
        # Status: read jobs, see whether a presigned upload arrived (else expire the job: UpdateItem
        # and an event), end a hold past its 72 hours the same way, sign a GET of the report.
        storage.grant_objects(self.status.role, "s3:GetObject", prefix=c.RESULTS_PREFIX)
        self._grant_job_control(self.status, storage, job_events)
        # Control: approve (wake the importer), discard, abort; the webhook (seal its secret).
        self._grant_job_control(self.control, storage, job_events)
        backends.import_queue.grant_send_messages(self.control.role)
        storage.tenants.grant_read_write_data(self.control.role)
        backends.webhooks.key.grant(self.control.role, "kms:Encrypt")  # seal a new signing secret

    def _authorize(self, backends: Backends, *, code: lambda_.Code, log_level: str) -> None:
        """The tenant authorizer: answers cached per token and route (docs/AUTH.md)."""
        auth, storage = backends.auth, backends.storage
        self.authorizer_function = PythonFunction(
            self,
            "Authorizer",
            spec=c.AUTHORIZER,
            code=code,
            log_level=log_level,
            environment={c.Env.TENANTS_TABLE_NAME: storage.tenants.table_name, c.Env.TOKEN_ISSUER_URL: auth.issuer},
        )
        storage.tenants.grant(self.authorizer_function.role, "dynamodb:GetItem")
        self.authorizer = authorizers.HttpLambdaAuthorizer(
            "TenantAuthorizer",
            self.authorizer_function.function,
            authorizer_name="tenants",
            response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
            identity_source=list(c.AUTHORIZER_IDENTITY_SOURCES),
            results_cache_ttl=c.AUTHORIZER_CACHE_TTL,
        )

    def _stage(self) -> None:
        self.http_api = apigw.HttpApi(self, "HttpApi", create_default_stage=False, description="Rostering Upload API")
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=c.LOG_RETENTION)
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=c.THROTTLE_RATE_LIMIT, burst_limit=c.THROTTLE_BURST_LIMIT),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )

    @staticmethod
    def _grant_job_control(target: PythonFunction, storage: Storage, job_events: events.IEventBus) -> None:
        """Read jobs (the imports list queries the acceptance index) and change one's state
        (UpdateItem only), publish the change, and move the file of a job that ended unimported
        from pending/ to failed/ (HeadObject, CopyObject, DeleteObject)."""
        storage.jobs.grant_read_data(target.role)
        # UpdateItem: the state changes; DeleteItem: a job that ends leaves its tenant's line.
        storage.jobs.grant(target.role, "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        job_events.grant_put_events_to(target.role)
        storage.grant_objects(target.role, "s3:GetObject", "s3:DeleteObject", prefix=c.PENDING_PREFIX)
        storage.grant_objects(target.role, "s3:PutObject", prefix=c.FAILED_PREFIX)
        storage.grant_list(target.role, prefix=c.PENDING_PREFIX)

    def _routes(self, functions: dict[str, PythonFunction]) -> None:
        """Every row of the route table: each path and alias, its function, its scopes."""
        integrations_by_function = {
            name: integrations.HttpLambdaIntegration(f"{name.title()}Integration", target.function)
            for name, target in functions.items()
        }
        for route in routes.ROUTES:
            for path in route.paths:
                added = self.http_api.add_routes(
                    path=path,
                    methods=[apigw.HttpMethod(route.method)],
                    integration=integrations_by_function[route.function],
                    authorizer=self.authorizer if route.scopes else apigw.HttpNoneAuthorizer(),
                )
                if route.scopes is None:
                    for public in added:
                        Validations.of(public).acknowledge(_PUBLIC_ROUTE)


_PUBLIC_ROUTE = Acknowledgment(
    id="AwsSolutions-APIG4",
    reason="The token route is how a client obtains a token: it authenticates with its "
    "client id and secret, which Cognito checks.",
)


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
    """JSON access log lines in ``log_group`` (the L2 stage takes an ``IAccessLogSettings``)."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigw.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return apigw_v1.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FORMAT))
