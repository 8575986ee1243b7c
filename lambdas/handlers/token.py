"""Token Lambda: the token route (``lambdas.common.routes.TOKEN``), no authorizer.

Reads a client-credentials request (urlencoded or multipart, Basic or form credentials) and
forwards it to the Cognito token endpoint; the logic lives in ``lambdas.oauth``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import routes
from lambdas.common.config import Env, Settings
from lambdas.common.http import json_response
from lambdas.common.observability import logger
from lambdas.oauth.cognito import TokenEndpoint
from lambdas.oauth.errors import OAuthError
from lambdas.oauth.request import event_body, parse_token_request, read_form

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# Cold start: the settings are checked at import (a missing name fails the init); the endpoint
# holds no client, so it is built at import too.
settings = Settings.from_env(require=(Env.TOKEN_ENDPOINT_URL,))
endpoint = TokenEndpoint(settings.token_endpoint_url)
app = APIGatewayHttpResolver()


@routes.register(app, routes.TOKEN)
def issue_token() -> Response:
    event = app.current_event
    form = read_form(event_body(event.body, bool(event.is_base64_encoded)), event.headers.get("content-type"))
    token_request = parse_token_request(form, event.headers.get("authorization"))
    answer = endpoint.exchange(token_request)
    logger.info("token issued", client_id=token_request.client_id, scope=token_request.scope)
    return json_response(answer.status, answer.body, headers=NO_STORE)


@app.exception_handler(OAuthError)
def oauth_error(error: OAuthError) -> Response:
    if error.status >= 500:
        logger.exception("token endpoint unavailable", error=error.error_code)
    else:
        logger.info("token request rejected", error=error.error_code, status=error.status)
    headers = dict(NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="rostering"'
    return json_response(error.status, error.body(), headers=headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
