"""Every HTTP route of the service, once: method, path, the aliases printed in the public docs,
the Lambda function that serves it and the scopes its authorizer requires.

Read by the handlers (``register`` puts a row on a Powertools resolver), the CDK stack (routes and
authorizer scopes), the local gateway emulator, and the OpenAPI test. Adding a route is one row
here plus the handler function that ``register`` decorates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lambdas.common.identity import SCOPE_IMPORT, SCOPE_READ, Caller

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

IMPORT = (SCOPE_IMPORT,)
READ = (SCOPE_READ, SCOPE_IMPORT)
PUBLIC = None  # no authorizer: the token route is how a client obtains a token

_PARAMETER = re.compile(r"\{(\w+)\}")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    method: str
    path: str  # "/api/v1/status/{referenceId}"
    function: str  # the Lambda that serves it: lambdas/handlers/<function>.py
    scopes: tuple[str, ...] | None  # any one of them; None: no authorizer
    aliases: tuple[str, ...] = ()  # the same route under another path (the public docs' paths)

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def resolver_rules(self) -> tuple[str, ...]:
        """The paths in Powertools' rule syntax (``<referenceId>``)."""
        return tuple(_PARAMETER.sub(r"<\1>", path) for path in self.paths)


TOKEN = Route(
    method="POST",
    path="/api/v1/oauth2/tokens",
    function="token",
    scopes=PUBLIC,
    aliases=("/api/v1/upload/v1/oauth2/tokens",),
)
UPLOAD = Route(
    method="POST",
    path="/api/v1/upload",
    function="upload",
    scopes=IMPORT,
    aliases=("/api/v1/upload/api/v1/upload",),
)
UPLOAD_URL = Route(method="POST", path="/api/v1/upload/url", function="upload", scopes=IMPORT)
STATUS = Route(
    method="GET",
    path="/api/v1/status/{referenceId}",
    function="status",
    scopes=READ,
    aliases=("/api/v1/upload/api/v1/status/{referenceId}",),
)
DOWNLOAD = Route(
    method="GET",
    path="/api/v1/download/{referenceId}",
    function="status",
    scopes=READ,
    aliases=("/api/v1/upload/api/v1/download/{referenceId}",),
)

# Job control and notifications (docs/JOB_CONTROL.md).
IMPORTS = Route(method="GET", path="/api/v1/imports", function="status", scopes=READ)
APPROVE = Route(method="POST", path="/api/v1/imports/{referenceId}/approve", function="control", scopes=IMPORT)
DISCARD = Route(method="POST", path="/api/v1/imports/{referenceId}/discard", function="control", scopes=IMPORT)
ABORT = Route(method="POST", path="/api/v1/imports/{referenceId}/abort", function="control", scopes=IMPORT)
WEBHOOK_PUT = Route(method="PUT", path="/api/v1/webhook", function="control", scopes=IMPORT)
WEBHOOK_GET = Route(method="GET", path="/api/v1/webhook", function="control", scopes=READ)
WEBHOOK_DELETE = Route(method="DELETE", path="/api/v1/webhook", function="control", scopes=IMPORT)

ROUTES: tuple[Route, ...] = (
    TOKEN,
    UPLOAD,
    UPLOAD_URL,
    STATUS,
    DOWNLOAD,
    IMPORTS,
    APPROVE,
    DISCARD,
    ABORT,
    WEBHOOK_PUT,
    WEBHOOK_GET,
    WEBHOOK_DELETE,
)


SCOPES_BY_KEY: dict[str, tuple[str, ...] | None] = {
    f"{route.method} {path}": route.scopes for route in ROUTES for path in route.paths
}


def scopes_of(route_key: str) -> tuple[str, ...] | None:
    """The scopes of the route API Gateway names ``route_key`` (``"GET /api/v1/status/{referenceId}"``,
    aliases included); None for a public or unknown route."""
    return SCOPES_BY_KEY.get(route_key)


def functions() -> tuple[str, ...]:
    """The HTTP Lambda functions, in table order."""
    return tuple(dict.fromkeys(route.function for route in ROUTES))


def entry_point(function: str) -> str:
    """Where Lambda finds ``function``'s handler (the CDK stack and the local stack read it)."""
    return f"lambdas.handlers.{function}.lambda_handler"


def register(app: APIGatewayHttpResolver, route: Route) -> Callable[[F], F]:
    """Decorate a handler function: it serves ``route`` under its path and every alias."""

    def decorate(function: F) -> F:
        for rule in route.resolver_rules():
            app.route(rule, route.method)(function)
        return function

    return decorate


def caller(event: dict[str, Any], route: Route) -> Caller:
    """The caller of an authorized route, holding one of its scopes (defence in depth behind the
    authorizer: 403 otherwise)."""
    return Caller.from_event(event).require_any(*(route.scopes or ()))
