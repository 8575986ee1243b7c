"""The stack composes the units; it creates nothing itself except outputs and the
acknowledgements of CDK-internal resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Acknowledgment, Aws, CfnOutput, CfnResource, Duration, Stack, Validations
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as c
from infra.api import Api, Backends
from infra.auth import Auth
from infra.bundling import lambda_code
from infra.edge import Edge
from infra.importer import ImportWorker
from infra.monitoring import Monitoring
from infra.storage import Storage
from infra.webhooks import Webhooks
from lambdas.common import routes

BUCKET_NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploySettings:
    """Deploy-time choices read from the CDK context (cdk.json, or ``-c key=value``)."""

    domain_prefix: str
    deletion_protection: bool
    pending_expiration_days: int
    alarm_email: str | None
    log_level: str

    @classmethod
    def from_context(cls, scope: Construct) -> DeploySettings:
        def value(key: str, default: Any) -> Any:
            found = scope.node.try_get_context(key)
            return default if found is None or found == "" else found

        def flag(key: str, default: bool) -> bool:
            found = value(key, default)
            return found if isinstance(found, bool) else str(found).strip().lower() in {"true", "1", "yes"}

        return cls(
            domain_prefix=value(c.CTX_DOMAIN_PREFIX, f"{c.DEFAULT_DOMAIN_PREFIX}-{Aws.ACCOUNT_ID}"),
            deletion_protection=flag(c.CTX_DELETION_PROTECTION, True),
            pending_expiration_days=int(value(c.CTX_PENDING_EXPIRATION_DAYS, c.DEFAULT_PENDING_EXPIRATION_DAYS)),
            alarm_email=value(c.CTX_ALARM_EMAIL, None),
            log_level=str(value(c.CTX_LOG_LEVEL, c.DEFAULT_LOG_LEVEL)),
        )


class RosteringStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = DeploySettings.from_context(self)
        code = lambda_code()

        storage = Storage(self, "Storage", pending_expiration=Duration.days(settings.pending_expiration_days))
        auth = Auth(
            self,
            "Auth",
            domain_prefix=settings.domain_prefix,
            deletion_protection=settings.deletion_protection,
        )
        importer = ImportWorker(self, "Importer", storage=storage, code=code, log_level=settings.log_level)
        webhooks = Webhooks(
            self, "Webhooks", storage=storage, bus=importer.bus, code=code, log_level=settings.log_level
        )
        api = Api(
            self,
            "Api",
            backends=Backends(
                auth=auth, storage=storage, job_events=importer.bus, import_queue=importer.queue, webhooks=webhooks
            ),
            code=code,
            log_level=settings.log_level,
        )
        front = Edge(self, "Edge", http_api=api.http_api)
        Monitoring(
            self,
            "Monitoring",
            functions=[*api.functions, importer.handler, importer.deadletter, webhooks.handler],
            http_api=api.http_api,
            dead_letters=importer.dlq,
            webhook_dead_letters=webhooks.dlq,
            alarm_email=settings.alarm_email,
        )
        storage.acknowledge_index_grants(
            api.upload.role, api.status.role, api.control.role, importer.handler.role, importer.deadletter.role
        )
        self._govern_bucket_notifications_handler()

        self._outputs(api=api, front=front, auth=auth, storage=storage, importer=importer)

    def _outputs(self, *, api: Api, front: Edge, auth: Auth, storage: Storage, importer: ImportWorker) -> None:
        """What clients and ``ops.tenants`` need."""
        outputs = {
            "ApiUrl": (front.url, "Base URL of the Rostering API (CloudFront in front of the HTTP API)"),
            "TokenUrl": (front.url + routes.TOKEN.path.removeprefix("/"), "Token route (client_credentials)"),
            "HttpApiUrl": (api.url, "The HTTP API behind CloudFront; clients use ApiUrl (docs/DEPLOY.md)"),
            "CognitoTokenEndpoint": (auth.token_endpoint_url, "Cognito /oauth2/token the token route forwards to"),
            "UserPoolId": (auth.user_pool.user_pool_id, "Tenants are app clients of this pool"),
            "BucketName": (storage.bucket.bucket_name, "Uploads bucket"),
            "EventBusName": (importer.bus.event_bus_name, "Import job events"),
            "TenantsTableName": (
                storage.tenants.table_name,
                "Tenant registry, settings and webhooks (python -m ops.tenants --table)",
            ),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

    def _govern_bucket_notifications_handler(self) -> None:
        """CDK's own function that writes the bucket notification configuration: a log group with
        the stack's retention (else Lambda creates one that keeps logs for ever), and cdk-nag notes."""
        handler = self.node.try_find_child(BUCKET_NOTIFICATIONS_HANDLER_ID)
        if handler is None:
            return
        log_group = logs.LogGroup(self, "BucketNotificationsHandlerLogs", retention=c.LOG_RETENTION)
        function = cast(CfnResource, handler.node.find_child("Resource"))
        function.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
        function.node.add_dependency(log_group)
        Validations.of(handler).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                reason="CDK's BucketNotificationsHandler uses AWSLambdaBasicExecutionRole for its own logs; "
                "it runs only during deployments.",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="s3:PutBucketNotification on '*' is how CDK's BucketNotificationsHandler is built; "
                "it runs only during deployments.",
            ),
        )
