"""HTTP answers for the API Lambdas: JSON bodies and the one error mapping."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from lambdas.common.errors import ApiError
from lambdas.common.observability import logger


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def register_error_mapping(app: APIGatewayHttpResolver) -> None:
    """Every ``ApiError`` becomes its status and body; anything else is logged and is a 500."""

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response:
        if error.status >= 500:
            logger.exception("request failed", code=error.code)
        else:
            logger.info("request rejected", code=error.code, status=error.status)
        return json_response(error.status, error.body())

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return json_response(404, {"message": "Not Found"})
