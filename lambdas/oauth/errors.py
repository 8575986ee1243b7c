"""Token endpoint errors as RFC 6749 section 5.2 names them: ``{"error": "<code>"}`` with a status."""

from __future__ import annotations

from typing import Any, ClassVar


class OAuthError(Exception):
    """A 400 with the class's ``error`` code, or with the code the identity provider answered."""

    status: ClassVar[int] = 400
    error: ClassVar[str] = "invalid_request"

    def __init__(self, error_code: str | None = None) -> None:
        self.error_code = error_code or self.error
        super().__init__(self.error_code)

    def body(self) -> dict[str, Any]:
        return {"error": self.error_code}


class InvalidRequest(OAuthError):
    status, error = 400, "invalid_request"


class InvalidClient(OAuthError):
    status, error = 401, "invalid_client"


class UnsupportedGrantType(OAuthError):
    status, error = 400, "unsupported_grant_type"


class InvalidScope(OAuthError):
    status, error = 400, "invalid_scope"


class ServerError(OAuthError):
    """The identity provider could not be reached or answered garbage."""

    status, error = 502, "server_error"
