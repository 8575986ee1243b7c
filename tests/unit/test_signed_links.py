"""Every signed link is SigV4 on the regional virtual-hosted endpoint, in old and new regions alike
(botocore's default would sign SigV2 in us-east-1, us-west-2 and eu-west-1)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from lambdas.common.s3client import s3_client
from lambdas.intake.objects import ObjectStore, UploadMetadata
from lambdas.jobs.objects import JobFiles

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")
BUCKET = "rostering-uploads-example"
REF = "0b6c2f39-5a7e-4a37-9f0e-2f3f0c1d2e3f"


@pytest.fixture(autouse=True)
def _aws_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


def _client(region: str) -> object:
    return s3_client(region_name=region, aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret")


@pytest.mark.parametrize("region", REGIONS)
def test_report_download_link_is_sigv4_on_the_regional_endpoint(region: str) -> None:
    url = JobFiles(BUCKET, client=_client(region)).report_url(REF, expires_in=300)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "https"
    assert parts.netloc == f"{BUCKET}.s3.{region}.amazonaws.com"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].endswith(f"/{region}/s3/aws4_request")
    assert query["X-Amz-Expires"] == ["300"]
    assert "AWSAccessKeyId=" not in url and "Signature=" not in url.replace("X-Amz-Signature=", "")


@pytest.mark.parametrize("region", REGIONS)
def test_presigned_post_is_sigv4_on_the_regional_endpoint(region: str) -> None:
    metadata = UploadMetadata(tenant="tenant-a", file_name="users.csv", dry_run=False, source="presigned")
    post = ObjectStore(BUCKET, client=_client(region)).presign_pending_post(
        REF, metadata=metadata, max_bytes=10, expires_in=900
    )

    assert post["url"] == f"https://{BUCKET}.s3.{region}.amazonaws.com/"
    fields = post["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].endswith(f"/{region}/s3/aws4_request")
    assert {"policy", "x-amz-signature", "x-amz-date", "key"} <= set(fields)
    assert not {"AWSAccessKeyId", "signature"} & set(fields)


def test_the_default_client_of_the_stores_is_the_sigv4_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    url = JobFiles(BUCKET).report_url(REF, expires_in=60)
    assert url.startswith(f"https://{BUCKET}.s3.us-west-2.amazonaws.com/")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url


def test_a_custom_endpoint_keeps_sigv4_with_path_style(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    url = JobFiles(BUCKET, client=_client("us-east-1")).report_url(REF, expires_in=60)
    assert url.startswith(f"http://127.0.0.1:4566/{BUCKET}/")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "AWSAccessKeyId=" not in url
