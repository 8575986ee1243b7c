"""S3's checks of browser-form POST uploads and presigned GETs, which moto leaves out, applied in
front of moto's S3 so that the local stack refuses what S3 refuses.

A form POST is accepted only as S3 accepts it (AWS docs, "Authenticating Requests in Browser-Based
Uploads Using POST (AWS Signature Version 4)" and "Creating a POST Policy"):

- it carries a ``policy`` (an anonymous POST to a Block-Public-Access bucket is 403);
- it is signed with Signature Version 4 (the bucket is SSE-KMS: SigV2 is refused) by a known access
  key, and ``x-amz-signature`` is the HMAC of the base64 policy under the SigV4 signing key of the
  credential's date, region and service;
- the policy has not expired, and every condition holds (exact matches, ``eq``, ``starts-with``,
  ``content-length-range`` on the file, ``bucket`` against the URL's bucket);
- every form field except ``file``, ``policy``, ``x-amz-signature`` and ``x-ignore-*`` is named by a
  condition ("Extra input fields").

A presigned GET signed with SigV2 (``AWSAccessKeyId=``) is refused as S3 refuses it for an SSE-KMS
object, and an expired SigV4 GET is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from multipart import MultipartError, MultipartParser, parse_options_header
from werkzeug.wrappers import Response

ALGORITHM = "AWS4-HMAC-SHA256"
UNCOVERED_ALLOWED = {"file", "policy", "x-amz-signature"}
AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str

    def response(self) -> Response:
        xml = (
            "<?xml version='1.0' encoding='UTF-8'?>"
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>"
        )
        return Response(xml, self.status, content_type="application/xml")


def _denied(message: str) -> Refusal:
    return Refusal(403, "AccessDenied", message)


class PostPolicyGuard:
    """WSGI middleware; ``credentials`` maps the access key ids the emulated account knows to their secrets."""

    def __init__(self, app: Any, credentials: Mapping[str, str], *, clock: Any = None) -> None:
        self._app = app
        self._credentials = dict(credentials)
        self._clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        refusal = self._refusal(environ)
        if refusal is None:
            return self._app(environ, start_response)
        return refusal.response()(environ, start_response)

    def _refusal(self, environ: dict[str, Any]) -> Refusal | None:
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            return check_presigned_get(parse_qs(environ.get("QUERY_STRING", "")), self._clock())
        media_type, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        if method != "POST" or media_type != "multipart/form-data":
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        bucket = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
        try:
            form = read_form(body, options.get("boundary", ""))
        except MultipartError:
            return Refusal(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed.")
        return check_post(form, bucket=bucket, credentials=self._credentials, now=self._clock())


@dataclass(frozen=True, slots=True)
class PostForm:
    fields: dict[str, str]  # lower-cased names; the file part is not a field
    file_size: int | None


def read_form(body: bytes, boundary: str) -> PostForm:
    fields: dict[str, str] = {}
    file_size = None
    for part in MultipartParser(io.BytesIO(body), boundary, content_length=len(body)):
        if part.name == "file":
            file_size = part.size
            break  # S3 ignores every field after the file
        fields[part.name.lower()] = part.value
    return PostForm(fields, file_size)


def check_post(form: PostForm, *, bucket: str, credentials: Mapping[str, str], now: datetime) -> Refusal | None:
    fields = form.fields
    if "policy" not in fields:
        return _denied("Anonymous POST uploads are not allowed on this bucket.")
    if "awsaccesskeyid" in fields or "signature" in fields:
        return Refusal(
            400,
            "InvalidArgument",
            "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.",
        )
    refusal = _check_signature(fields, credentials)
    if refusal is not None:
        return refusal
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if expiration <= now:
        return _denied("Invalid according to Policy: Policy expired.")
    return _check_conditions(conditions, {**fields, "bucket": bucket}, form.file_size)


def _check_signature(fields: Mapping[str, str], credentials: Mapping[str, str]) -> Refusal | None:
    if fields.get("x-amz-algorithm") != ALGORITHM:
        return Refusal(400, "InvalidArgument", f"x-amz-algorithm must be {ALGORITHM}.")
    parts = fields.get("x-amz-credential", "").split("/")
    if len(parts) != 5 or parts[3:] != ["s3", "aws4_request"]:
        return Refusal(400, "InvalidArgument", "x-amz-credential is malformed.")
    access_key, date, region = parts[0], parts[1], parts[2]
    secret = credentials.get(access_key)
    if secret is None:
        return Refusal(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    expected = hmac.new(signing_key(secret, date, region), fields["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        return Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
    return None


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_conditions(conditions: list[Any], fields: Mapping[str, str], file_size: int | None) -> Refusal | None:
    covered: set[str] = set()
    for condition in conditions:
        name, ok = _condition_holds(condition, fields, file_size)
        if name is None:
            return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
        if not ok:
            if name == "content-length-range":
                return _size_refusal(condition, file_size)
            return _denied(f"Invalid according to Policy: Policy Condition failed: {name}")
        covered.add(name)
    extra = sorted(name for name in fields if name not in covered | UNCOVERED_ALLOWED | {"bucket"})
    extra = [name for name in extra if not name.startswith("x-ignore-")]
    if extra:
        return _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    if file_size is None:
        return Refusal(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    return None


def _condition_holds(condition: Any, fields: Mapping[str, str], file_size: int | None) -> tuple[str | None, bool]:
    """``(field name, satisfied)``; the name is None for a condition S3 would not parse."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        return name.lower(), fields.get(name.lower()) == value
    if not isinstance(condition, list) or len(condition) != 3:
        return None, False
    operator = str(condition[0]).lower()
    if operator == "content-length-range":
        low, high = int(condition[1]), int(condition[2])
        return operator, file_size is not None and low <= file_size <= high
    if operator in {"eq", "starts-with"} and isinstance(condition[1], str) and condition[1].startswith("$"):
        name, value = condition[1][1:].lower(), str(condition[2])
        actual = fields.get(name)
        holds = actual == value if operator == "eq" else actual is not None and actual.startswith(value)
        return name, holds
    return None, False


def _size_refusal(condition: list[Any], file_size: int | None) -> Refusal:
    if file_size is not None and file_size < int(condition[1]):
        return Refusal(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
    return Refusal(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")


def check_presigned_get(query: Mapping[str, list[str]], now: datetime) -> Refusal | None:
    if "AWSAccessKeyId" in query or "Signature" in query:
        return Refusal(
            400,
            "InvalidArgument",
            "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.",
        )
    if "X-Amz-Date" in query and "X-Amz-Expires" in query:
        try:
            signed = datetime.strptime(query["X-Amz-Date"][0], AMZ_DATE).replace(tzinfo=UTC)
            expires = signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))
        except ValueError:
            return Refusal(400, "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is malformed.")
        if expires <= now:
            return _denied("Request has expired")
    return None
