"""API Gateway HTTP API, emulated: routes, the tenant authorizer, payload limits, and payload 2.0
events for the real handlers, whose answers are turned back into HTTP as API Gateway does."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from lambdas.common.edge import LAMBDA_MAX_EVENT, TEXT_TYPES, edge_refusal
from lambdas.common.routes import ROUTES, Route
from local.authorizer import AuthorizerDenied, RequestAuthorizer, denial_response

API_ID = "local"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True, slots=True)
class GatewayRoute:
    """One path of a row of the route table, as API Gateway keys it (an alias is a route of its own)."""

    route: Route
    path: str

    @property
    def key(self) -> str:
        return f"{self.route.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.route.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def gateway_routes(routes: Iterable[Route] = ROUTES) -> tuple[GatewayRoute, ...]:
    return tuple(GatewayRoute(route, path) for route in routes for path in route.paths)


class LocalContext:
    """What the handlers read of the Lambda context."""

    def __init__(self, function_name: str, timeout_seconds: float = 29.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Gateway:
    """A WSGI application in front of the handlers."""

    def __init__(
        self,
        *,
        handlers: Mapping[str, Handler],
        authorizer: RequestAuthorizer,
        extra_documents: Mapping[str, tuple[str, bytes]] | None = None,
        routes: Iterable[Route] = ROUTES,
    ) -> None:
        self._handlers = handlers
        self._authorizer = authorizer
        self._documents = dict(extra_documents or {})
        self._routes = gateway_routes(routes)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method == "GET" and request.path in self._documents:
            content_type, document = self._documents[request.path]
            return Response(document, 200, content_type=content_type)
        # The deployed CloudFront Function's check, first, on every request (lambdas/common/edge.py).
        refused = edge_refusal(request.method, {name.lower(): value for name, value in request.headers.items()})
        if refused is not None:
            status, body = refused
            return Response(body, status, content_type="application/json")
        found, parameters = self._route(request.method, request.path)
        if found is None:
            return _json(404, {"message": "Not Found"})
        route = found.route
        authorized = None
        if route.scopes is not None:
            try:
                authorized = self._authorizer.request_context(request.headers.get("Authorization"), found.key)
            except AuthorizerDenied as denied:
                status, headers, body = denial_response(denied)
                return Response(body, status, headers=headers)
        event = build_event(request, found.key, parameters, authorized)
        if len(json.dumps(event)) > LAMBDA_MAX_EVENT:  # unreachable behind the edge check; as API Gateway answers
            return _json(500, {"message": "Internal Server Error"})
        result = self._handlers[route.function](event, LocalContext(route.function))
        return to_http(result)

    def _route(self, method: str, path: str) -> tuple[GatewayRoute | None, dict[str, str]]:
        for route in self._routes:
            if (parameters := route.match(method, path)) is not None:
                return route, parameters
        return None, {}


def build_event(
    request: Request, route_key: str, path_parameters: dict[str, str], authorizer: dict[str, Any] | None
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event, as API Gateway builds it."""
    headers = _joined((name.lower(), value) for name, value in request.headers.items() if name.lower() != "cookie")
    query = _joined(request.args.items(multi=True))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": _request_context(request, route_key, authorizer),
        "isBase64Encoded": False,
    }
    if cookies := request.headers.get("Cookie"):
        event["cookies"] = [cookie.strip() for cookie in cookies.split(";")]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    body = request.get_data(cache=False)
    if body:
        if TEXT_TYPES.match(request.mimetype or "") and _is_utf8(body):
            event["body"] = body.decode("utf-8")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names joined with commas, as API Gateway passes headers and query parameters."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _request_context(request: Request, route_key: str, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "accountId": "000000000000",
        "apiId": API_ID,
        "domainName": request.host,
        "domainPrefix": request.host.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return context


def to_http(result: Any) -> Response:
    """A payload 2.0 answer as API Gateway sends it: a dict with ``statusCode``, or any JSON value."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), 200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, int(result["statusCode"]))
    response.headers.remove("Content-Type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
