"""S3 presigned POST policy checks that moto leaves out: expiry, exact-match conditions and
``content-length-range``, applied in front of moto's S3 so local uploads are refused as on AWS."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from multipart import MultipartError, MultipartParser, parse_options_header
from werkzeug.wrappers import Response


class PostPolicyGuard:
    def __init__(self, app: Any) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        media_type, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        if environ.get("REQUEST_METHOD") != "POST" or media_type != "multipart/form-data":
            return self._app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        refusal = _check(body, options.get("boundary", ""))
        if refusal is None:
            return self._app(environ, start_response)
        status, code, message = refusal
        xml = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return Response(xml, status, content_type="application/xml")(environ, start_response)


def _check(body: bytes, boundary: str) -> tuple[int, str, str] | None:
    fields: dict[str, str] = {}
    file_size = None
    try:
        for part in MultipartParser(io.BytesIO(body), boundary, content_length=len(body)):
            if part.name == "file":
                file_size = part.size
            else:
                fields[part.name.lower()] = part.value
    except MultipartError:
        return 400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
    if "policy" not in fields:
        return None
    policy = json.loads(base64.b64decode(fields["policy"]))
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) < datetime.now(UTC):
        return 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    for condition in policy.get("conditions", []):
        if isinstance(condition, list) and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size is None or file_size > high:
                return 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            if file_size < low:
                return 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
        elif isinstance(condition, dict):
            for name, value in condition.items():
                if name.lower() != "bucket" and fields.get(name.lower()) != value:
                    return 403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {name}"
    return None
