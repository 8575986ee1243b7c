"""A client-credentials token request read from an HTTP body and its headers.

Bodies are ``application/x-www-form-urlencoded`` or ``multipart/form-data`` (the public docs use
``curl --form``). The client authenticates with ``client_id``/``client_secret`` form fields or HTTP
Basic; when both are present they must agree.
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

import multipart

from lambdas.common.identity import RESOURCE_SERVER, SCOPE_IMPORT, SCOPE_READ
from lambdas.oauth.errors import InvalidClient, InvalidRequest, InvalidScope, UnsupportedGrantType

FORM_URLENCODED = "application/x-www-form-urlencoded"
FORM_MULTIPART = "multipart/form-data"
CLIENT_CREDENTIALS = "client_credentials"
# A token request is a handful of short fields: anything bigger is not one.
MAX_FORM_PARTS = 16
MAX_FIELD_BYTES = 4096
TAO_SCOPE = RESOURCE_SERVER  # TAO: the token "has the rostering scope"
ROUTE_SCOPES = (SCOPE_IMPORT, SCOPE_READ)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    client_id: str
    client_secret: str
    scope: str | None

    def __repr__(self) -> str:  # keep the secret out of tracebacks and logs
        return f"TokenRequest(client_id={self.client_id!r}, scope={self.scope!r})"


def read_form(body: bytes, content_type: str | None, *, allow_multipart: bool = True) -> dict[str, str]:
    """The form fields of ``body``; a repeated field is an ``invalid_request`` (RFC 6749 section 3.2)."""
    media_type, options = multipart.parse_options_header(content_type or "")
    if not body:
        raise InvalidRequest()
    if media_type == FORM_URLENCODED:
        pairs = _urlencoded_pairs(body)
    elif media_type == FORM_MULTIPART and allow_multipart:
        pairs = _multipart_pairs(body, options.get("boundary", ""))
    else:
        raise InvalidRequest()
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequest()
        form[name] = value
    return form


def parse_token_request(form: Mapping[str, str], authorization: str | None) -> TokenRequest:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest()
    if grant_type != CLIENT_CREDENTIALS:
        raise UnsupportedGrantType()
    client_id, client_secret = client_credentials(form, authorization)
    scope = form.get("scope")
    return TokenRequest(client_id=client_id, client_secret=client_secret, scope=scope or None)


def cognito_scope(requested: str | None) -> str | None:
    """The scope to ask Cognito for: ``rostering`` (the scope name TAO's documentation gives)
    stands for both route scopes; otherwise a space-separated subset of them, or absent (Cognito
    then grants every scope of the client: both). Anything else is ``invalid_scope``."""
    if requested is None:
        return None
    granted: list[str] = []
    for scope in requested.split():
        if scope == TAO_SCOPE:
            granted += ROUTE_SCOPES
        elif scope in ROUTE_SCOPES:
            granted.append(scope)
        else:
            raise InvalidScope()
    if not granted:
        raise InvalidScope()
    return " ".join(dict.fromkeys(granted))


def client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str, str]:
    """``(client_id, client_secret)`` from HTTP Basic and/or the form; missing ones are ``invalid_client``."""
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if authorization:
        basic_id, basic_secret = _basic_credentials(authorization)
        if (form_id is not None and form_id != basic_id) or (form_secret is not None and form_secret != basic_secret):
            raise InvalidRequest()
        return basic_id, basic_secret
    if not form_id or not form_secret:
        raise InvalidClient()
    return form_id, form_secret


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient()
    try:
        decoded = binascii.a2b_base64(encoded.strip().encode("ascii"), strict_mode=True).decode("utf-8")
    except (binascii.Error, UnicodeError) as error:
        raise InvalidClient() from error
    client_id, colon, client_secret = decoded.partition(":")
    if not colon or not client_id or not client_secret:
        raise InvalidClient()
    return client_id, client_secret


def _urlencoded_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_PARTS)
    except (UnicodeError, ValueError) as error:
        raise InvalidRequest() from error


def _multipart_pairs(body: bytes, boundary: str) -> list[tuple[str, str]]:
    if not boundary:
        raise InvalidRequest()
    parser = multipart.MultipartParser(
        io.BytesIO(body),
        boundary,
        content_length=len(body),
        strict=True,
        part_limit=MAX_FORM_PARTS,
        partsize_limit=MAX_FIELD_BYTES,
    )
    try:
        pairs = [(part.name, part.value) for part in parser if part.filename is None]
    except (multipart.MultipartError, UnicodeError, LookupError) as error:  # LookupError: a part's charset=bogus
        raise InvalidRequest() from error
    if not pairs:
        raise InvalidRequest()
    return pairs


def event_body(body: str | None, is_base64_encoded: bool) -> bytes:
    """The raw bytes of an API Gateway body (base64 for form bodies on HTTP APIs)."""
    if not body:
        return b""
    if not is_base64_encoded:
        return body.encode("utf-8")
    try:
        return binascii.a2b_base64(body.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeError) as error:
        raise InvalidRequest() from error
