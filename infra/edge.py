"""CloudFront in front of the HTTP API, so that the deployed service answers an oversized direct
upload with the same 413 ``FILE_TOO_LARGE`` JSON as the local stack instead of API Gateway's own 500.

A CloudFront Function (viewer request, JavaScript runtime 2.0) reads ``Content-Length``, which edge
functions may read but not change (AWS: "Restrictions on all edge functions", read-only headers of
viewer request events), and applies ``lambdas.common.edge`` (the same rule the local gateway
applies): a body whose Lambda event could pass 6 MB is answered at the edge, every other request is
forwarded unchanged, body included (CloudFront Functions never see or alter the body). The
distribution caches nothing (managed ``CachingDisabled``) and forwards every viewer header but
``Host`` (managed ``AllViewerExceptHostHeader``, the policy AWS documents for API Gateway origins),
so ``Authorization`` and ``Content-Type`` reach the API as sent.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, Fn, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from constructs import Construct

from lambdas.common import edge

_FUNCTION_CODE = """\
var MAX_BASE64_BODY = %(max_base64)d;
var MAX_TEXT_BODY = %(max_text)d;
var TEXT_TYPES = new RegExp(%(text_types)s);
var BODY_METHODS = %(methods)s;

function answer(status, description, code, message) {
  return {
    statusCode: status,
    statusDescription: description,
    headers: {"content-type": {value: "application/json"}},
    body: {encoding: "text", data: JSON.stringify({code: code, message: message})}
  };
}

function handler(event) {
  var request = event.request;
  if (BODY_METHODS.indexOf(request.method) < 0) {
    return request;
  }
  var headers = request.headers;
  var length = headers["content-length"] ? headers["content-length"].value.trim() : "";
  if (!/^[0-9]+$/.test(length)) {
    if (headers["transfer-encoding"]) {
      return answer(411, "Length Required", %(length_code)s, %(length_message)s);
    }
    return request;
  }
  var type = headers["content-type"] ? headers["content-type"].value.split(";")[0].trim().toLowerCase() : "";
  var limit = TEXT_TYPES.test(type) ? MAX_TEXT_BODY : MAX_BASE64_BODY;
  if (parseInt(length, 10) > limit) {
    var message = %(too_large_message)s.replace("{limit}", String(limit));
    return answer(413, "Payload Too Large", %(too_large_code)s, message);
  }
  return request;
}
"""


def function_code() -> str:
    """The CloudFront Function's source, rendered from ``lambdas.common.edge``."""
    return _FUNCTION_CODE % {
        "max_base64": edge.MAX_BASE64_BODY,
        "max_text": edge.MAX_TEXT_BODY,
        "text_types": json.dumps(edge.TEXT_TYPES_PATTERN),
        "methods": json.dumps(list(edge.BODY_METHODS)),
        "length_code": json.dumps(edge.LENGTH_REQUIRED_CODE),
        "length_message": json.dumps(edge.LENGTH_REQUIRED_MESSAGE),
        "too_large_code": json.dumps(edge.TOO_LARGE_CODE),
        "too_large_message": json.dumps(edge.TOO_LARGE_MESSAGE),
    }


class Edge(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, http_api: apigw.HttpApi) -> None:
        super().__init__(scope, construct_id)
        self.size_check = cloudfront.Function(
            self,
            "SizeCheck",
            code=cloudfront.FunctionCode.from_inline(function_code()),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="413/411 JSON for bodies whose Lambda event would pass 6 MB (lambdas/common/edge.py)",
        )
        api_domain = Fn.select(2, Fn.split("/", http_api.api_endpoint))  # https://<id>.execute-api...
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Rostering Upload API",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(api_domain, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=self.size_check, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )
        self.url = f"https://{self.distribution.distribution_domain_name}/"
        self._acknowledge()

    def _acknowledge(self) -> None:
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CFR1",
                reason="Tenants are school districts and vendors anywhere; access is by token, not by country.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR2",
                reason="WAF is an operator choice with its own price (docs/DEPLOY.md); the API is throttled "
                "per stage and every route but the token route needs a tenant token.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR3",
                reason="The HTTP API stage writes a JSON access log of every request that reaches it; the "
                "edge only answers oversized bodies.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR4",
                reason="The default *.cloudfront.net certificate fixes the TLS policy; a custom domain with "
                "TLSv1.2_2021 is the documented next step (docs/DEPLOY.md).",
            ),
        )
