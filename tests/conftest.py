"""Fixtures shared by every suite: fake AWS credentials, moto, the service's resources, a Lambda context."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import settings as hypothesis_settings

from lambdas.common.config import Env
from local.resources import resource_environment
from testkit.context import FakeLambdaContext

# Bounded property runs in `make test`; `make fuzz` selects the long profile.
hypothesis_settings.register_profile("default", max_examples=40, deadline=None)
hypothesis_settings.register_profile("fuzz", max_examples=2000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Before any handler module is imported: boto3 must never reach a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "Rostering",
        "POWERTOOLS_DEV": "false",
        # What the stack gives the functions: they have no default of their own. The queue URL
        # and the token endpoint are placeholders; tests that reach them pass their own.
        **resource_environment(),
        Env.IMPORT_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/rostering-import",
        Env.WEBHOOK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/rostering-webhooks",
        Env.TOKEN_ENDPOINT_URL: "https://rostering.auth.us-east-1.amazoncognito.com/oauth2/token",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

# moto's DynamoDB transactions as isolated as DynamoDB's, as in the local stack.
from local import moto_dynamodb  # noqa: E402

moto_dynamodb.install()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def settings() -> Any:
    from lambdas.common.config import Settings

    return Settings(password_hash_log2_n=4)


@pytest.fixture
def resources(aws: None, settings: Any) -> dict[str, Any]:
    """Bucket and tables of the service, created in moto from the shared definition."""
    from local.resources import create_bucket, create_tables

    s3 = boto3.client("s3")
    dynamodb = boto3.client("dynamodb")
    create_bucket(s3, settings)
    create_tables(dynamodb, settings)
    return {"s3": s3, "dynamodb": dynamodb, "settings": settings}
