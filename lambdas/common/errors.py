"""Domain errors. Each carries its HTTP status and the error code of `openapi.yaml`; the HTTP
handlers turn them into answers in one place (``lambdas.common.http``)."""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An error the caller can act on: ``{"code": ..., "message": ...}`` with ``status``."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class MalformedRequest(ApiError):
    status, code = 400, "MALFORMED_REQUEST"


class MissingFile(ApiError):
    status, code = 400, "MISSING_FILE"


class EmptyFile(ApiError):
    status, code = 400, "EMPTY_FILE"


class InvalidFileType(ApiError):
    status, code = 415, "INVALID_FILE_TYPE"


class FileTooLarge(ApiError):
    status, code = 413, "FILE_TOO_LARGE"


class UploadError(ApiError):
    status, code = 500, "UPLOAD_ERROR"


class IdempotencyConflict(ApiError):
    status, code = 409, "IDEMPOTENCY_CONFLICT"


class NotFound(ApiError):
    status, code = 404, "NOT_FOUND"


class ReportNotReady(ApiError):
    status, code = 409, "REPORT_NOT_READY"


class InvalidState(ApiError):
    """The job is not in a state that allows the action (approve, discard, abort)."""

    status, code = 409, "INVALID_STATE"


class InvalidWebhookUrl(ApiError):
    status, code = 400, "INVALID_WEBHOOK_URL"


class Forbidden(ApiError):
    """The token lacks the route's scope: answered with the authorizer's own body."""

    status, code = 403, "FORBIDDEN"

    def __init__(self, message: str = "Forbidden") -> None:
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        return {"message": "Forbidden"}
