"""The one place that builds the S3 client: every signed link is Signature Version 4 on the
regional virtual-hosted endpoint (``https://<bucket>.s3.<region>.amazonaws.com``).

botocore still presigns S3 with Signature Version 2 in us-east-1, us-west-2, eu-west-1 and other
older regions when no ``signature_version`` is given (boto3 #2680). An SSE-KMS object refuses a
SigV2 request, and buckets created after June 2020 refuse SigV2 altogether, so a default client
would hand out links that fail on AWS. With a custom endpoint (the local stack's moto server, an
IP address) virtual-hosted names cannot resolve, so path style is used there; the signature
version is the same.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

SIGNATURE_VERSION = "s3v4"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def s3_config(environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    custom_endpoint = any(env.get(name) for name in ENDPOINT_VARIABLES)
    return Config(
        signature_version=SIGNATURE_VERSION,
        s3={
            "addressing_style": "path" if custom_endpoint else "virtual",
            "us_east_1_regional_endpoint": "regional",
        },
    )


def s3_client(*, region_name: str | None = None, **kwargs: Any) -> Any:
    """``boto3.client("s3")`` with ``s3_config()``; ``kwargs`` go to boto3 (tests pass credentials)."""
    return boto3.client("s3", region_name=region_name, config=s3_config(), **kwargs)
