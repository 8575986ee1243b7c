"""The size check in front of the API, once: the deployed CloudFront Function (``infra/edge.py``
renders it from these constants) and the local gateway (``local/gateway.py``) apply the same rule.

API Gateway gives a Lambda integration the whole request as one JSON event, and a synchronous
invocation takes at most 6,291,456 bytes of it; above that API Gateway answers its own 500
``{"message":"Internal Server Error"}``, never reaching our code. The HTTP API base64-encodes every
body that is not text (multipart uploads included: 4 bytes for 3), and JSON-escapes text bodies
(up to 6 bytes for a control character). So a body is refused at the edge, by its
``Content-Length``, when its event could pass the cap:

- binary and multipart bodies over ``MAX_BASE64_BODY`` (4,694,016 bytes),
- text bodies (``TEXT_TYPES``, what API Gateway passes as text) over ``MAX_TEXT_BODY`` (1,043,114 bytes),

with 413 ``FILE_TOO_LARGE`` and how to send the file instead. ``ENVELOPE_RESERVE`` keeps room for the
rest of the event: request line and headers (at most 10 KB on an HTTP API, JSON-escaped), the request
context and the authorizer's context. A body sent without a length (``Transfer-Encoding: chunked``)
cannot be measured at the edge: 411 ``LENGTH_REQUIRED``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from lambdas.common.routes import UPLOAD_URL

LAMBDA_MAX_EVENT = 6_291_456  # synchronous Lambda invocation payload
HTTP_API_MAX_BODY = 10 * 1024 * 1024  # HTTP API payload quota (the edge refuses long before it)
ENVELOPE_RESERVE = 32 * 1024
MAX_BASE64_BODY = (LAMBDA_MAX_EVENT - ENVELOPE_RESERVE) // 4 * 3
MAX_TEXT_BODY = (LAMBDA_MAX_EVENT - ENVELOPE_RESERVE) // 6
# Media types API Gateway passes as text (the local gateway builds events with the same rule).
TEXT_TYPES_PATTERN = r"^(text/.*|application/(json|xml|javascript)|.*\+(json|xml))$"
TEXT_TYPES = re.compile(TEXT_TYPES_PATTERN)
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")

TOO_LARGE_CODE = "FILE_TOO_LARGE"
TOO_LARGE_MESSAGE = (
    "The request body is over the {limit} bytes a direct upload can carry (the 6 MB Lambda event limit): "
    "send the file gzip-compressed (users.csv.gz, up to 10 MiB of CSV) or through "
    f"{UPLOAD_URL.key} (presigned upload)."
)
LENGTH_REQUIRED_CODE = "LENGTH_REQUIRED"
LENGTH_REQUIRED_MESSAGE = "Send the request body with a Content-Length header (chunked uploads are not accepted)."


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def body_limit(content_type: str | None) -> int:
    return MAX_TEXT_BODY if TEXT_TYPES.match(media_type(content_type)) else MAX_BASE64_BODY


def edge_refusal(method: str, headers: Mapping[str, str]) -> tuple[int, bytes] | None:
    """``(status, JSON body)`` the edge answers instead of forwarding, or None. ``headers`` by lower-case name."""
    if method.upper() not in BODY_METHODS:
        return None
    length = headers.get("content-length")
    if length is None or not length.strip().isdigit():
        if "transfer-encoding" in headers:
            return 411, _body(LENGTH_REQUIRED_CODE, LENGTH_REQUIRED_MESSAGE)
        return None
    limit = body_limit(headers.get("content-type"))
    if int(length) > limit:
        return 413, _body(TOO_LARGE_CODE, TOO_LARGE_MESSAGE.format(limit=limit))
    return None


def _body(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}, separators=(",", ":")).encode()
