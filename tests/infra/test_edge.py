"""CloudFront in front of the API: the size check runs as a viewer-request CloudFront Function whose
code answers exactly what the local gateway answers (both from lambdas/common/edge.py), and the
distribution forwards every request to the HTTP API unchanged, uncached."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from aws_cdk.assertions import Template

from infra.edge import function_code
from lambdas.common import edge
from tests.infra.helpers import Resources, of_type

CASES = [
    ("POST", {"content-length": str(edge.MAX_BASE64_BODY), "content-type": "multipart/form-data; boundary=x"}),
    ("POST", {"content-length": str(edge.MAX_BASE64_BODY + 1), "content-type": "multipart/form-data; boundary=x"}),
    ("POST", {"content-length": str(edge.MAX_BASE64_BODY + 1)}),
    ("POST", {"content-length": "9000000", "content-type": "application/gzip"}),
    ("POST", {"content-length": str(edge.MAX_TEXT_BODY), "content-type": "application/json"}),
    ("POST", {"content-length": str(edge.MAX_TEXT_BODY + 1), "content-type": "Text/CSV; charset=utf-8"}),
    ("POST", {"content-length": str(edge.MAX_TEXT_BODY + 1), "content-type": "application/problem+json"}),
    ("POST", {"transfer-encoding": "chunked", "content-type": "multipart/form-data"}),
    ("POST", {}),
    ("GET", {"content-length": "99999999"}),
    ("PUT", {"content-length": "99999999"}),
]


def node_answers() -> list[object]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    events = [
        {"request": {"method": m, "uri": "/api/v1/upload", "headers": {k: {"value": v} for k, v in h.items()}}}
        for m, h in CASES
    ]
    script = function_code() + f"\nconsole.log(JSON.stringify({json.dumps(events)}.map(handler)));\n"
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30)
    return list(json.loads(result.stdout))


def test_the_cloudfront_function_answers_what_the_local_gateway_answers() -> None:
    for (method, headers), answer in zip(CASES, node_answers(), strict=True):
        expected = edge.edge_refusal(method, headers)
        if expected is None:
            assert answer == {
                "method": method,
                "uri": "/api/v1/upload",
                "headers": {k: {"value": v} for k, v in headers.items()},
            }
        else:
            status, body = expected
            assert isinstance(answer, dict)
            assert answer["statusCode"] == status
            assert answer["headers"] == {"content-type": {"value": "application/json"}}
            assert answer["body"] == {"encoding": "text", "data": body.decode()}


def test_the_refusal_is_file_too_large_with_the_gzip_and_presigned_advice() -> None:
    status, body = edge.edge_refusal("POST", {"content-length": "5000000", "content-type": "multipart/form-data"}) or (
        0,
        b"",
    )
    answer = json.loads(body)
    assert status == 413 and answer["code"] == "FILE_TOO_LARGE"
    assert "gzip" in answer["message"] and "POST /api/v1/upload/url" in answer["message"]


def test_the_limits_keep_every_event_under_the_lambda_cap() -> None:
    assert edge.MAX_BASE64_BODY * 4 // 3 + edge.ENVELOPE_RESERVE <= edge.LAMBDA_MAX_EVENT
    assert edge.MAX_TEXT_BODY * 6 + edge.ENVELOPE_RESERVE <= edge.LAMBDA_MAX_EVENT
    assert edge.MAX_BASE64_BODY < edge.HTTP_API_MAX_BODY


def test_the_function_is_a_js2_viewer_request_function_on_an_uncached_all_methods_behaviour(
    template: Template, resources: Resources
) -> None:
    ((function_id, function),) = of_type(resources, "AWS::CloudFront::Function").items()
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["Properties"]["FunctionCode"] == function_code()
    ((_, distribution),) = of_type(resources, "AWS::CloudFront::Distribution").items()
    behaviour = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]}}
    ]
    assert sorted(behaviour["AllowedMethods"]) == sorted(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"])
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed CachingDisabled
    assert behaviour["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    (origin,) = distribution["Properties"]["DistributionConfig"]["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_the_api_url_output_is_the_distribution(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    assert outputs["ApiUrl"]["Value"]["Fn::Join"][1][1]["Fn::GetAtt"][1] == "DomainName"


def test_the_deploy_guide_documents_the_answer_byte_for_byte() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    refusal = edge.edge_refusal("POST", {"content-length": str(edge.MAX_BASE64_BODY + 1)})
    assert refusal is not None and f"`{refusal[1].decode()}`" in guide
