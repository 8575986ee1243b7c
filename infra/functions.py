"""One small helper that makes a Lambda function from a ``FunctionSpec``: explicit log group,
its own role (no managed policy), Powertools settings, arm64, Python 3.13."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as c


class PythonFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: c.FunctionSpec,
        code: lambda_.Code,
        log_level: str,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(self, "Logs", retention=c.LOG_RETENTION)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.function = lambda_.Function(
            self,
            "Function",
            code=code,
            handler=spec.handler,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            description=spec.description,
            role=self.role,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": c.POWERTOOLS_SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
                "LOG_LEVEL": log_level,
                **environment,
            },
        )
        # The role writes to its own log group only (instead of AWSLambdaBasicExecutionRole).
        self.log_group.grant_write(self.role)
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Python 3.13 is the runtime the dependencies are built and tested for "
                "(pip --python-version 3.13); moving to 3.14 is a deliberate upgrade.",
            )
        )

    def add_environment(self, name: str, value: str) -> None:
        self.function.add_environment(name, value)
