"""Forwarding a token request to the Cognito user pool domain's ``/oauth2/token``.

The TAO scope name ``rostering`` is translated into the two route scopes first: Cognito knows
only ``rostering/import`` and ``rostering/read``. Stdlib ``urllib`` keeps the Lambda bundle small.
The transport is injectable (``send``) so tests answer in-process. Cognito answers every error
with 400; the caller gets RFC 6749's 401 for ``invalid_client``.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from lambdas.oauth.errors import InvalidClient, OAuthError, ServerError
from lambdas.oauth.request import CLIENT_CREDENTIALS, FORM_URLENCODED, TokenRequest, cognito_scope

# (request, timeout in seconds) -> (HTTP status, body bytes)
Send = Callable[[urllib.request.Request, float], tuple[int, bytes]]

DEFAULT_TIMEOUT_SECONDS = 5.0
TOKEN_FIELDS = ("access_token", "token_type", "expires_in", "scope")


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    status: int
    body: dict[str, Any]


def urllib_send(request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked in exchange
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


class TokenEndpoint:
    def __init__(self, url: str, *, send: Send = urllib_send, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._url = url
        self._send = send
        self._timeout = timeout

    def exchange(self, token_request: TokenRequest) -> TokenAnswer:
        """Cognito's answer: the token fields on success; raises ``OAuthError`` otherwise."""
        if not self._url.startswith(("https://", "http://")):
            raise ServerError() from ValueError("TOKEN_ENDPOINT_URL is not an http(s) URL")
        try:
            status, raw = self._send(self._http_request(token_request), self._timeout)
        except OSError as error:  # URLError, timeouts, refused connections
            raise ServerError() from error
        body = _json_object(raw)
        if status == 200 and isinstance(body.get("access_token"), str):
            return TokenAnswer(200, {name: body[name] for name in TOKEN_FIELDS if name in body})
        error_code = body.get("error")
        if 400 <= status < 500 and isinstance(error_code, str):
            raise _relayed(error_code)
        raise ServerError()

    def _http_request(self, token_request: TokenRequest) -> urllib.request.Request:
        form = {"grant_type": CLIENT_CREDENTIALS}
        scope = cognito_scope(token_request.scope)
        if scope:
            form["scope"] = scope
        credentials = f"{token_request.client_id}:{token_request.client_secret}".encode()
        return urllib.request.Request(  # noqa: S310 - http(s) checked in exchange
            self._url,
            data=urlencode(form).encode("ascii"),
            method="POST",
            headers={
                "Content-Type": FORM_URLENCODED,
                "Accept": "application/json",
                "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
            },
        )


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _relayed(error_code: str) -> OAuthError:
    """Cognito's error as ours: its status is always 400, RFC 6749 wants 401 for ``invalid_client``."""
    return InvalidClient() if error_code == InvalidClient.error else OAuthError(error_code)
