"""API Gateway HTTP API (payload 2.0) events for the handlers, built from the canonical event."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"
TENANT_A = "tenant-a-client"
TENANT_B = "tenant-b-client"
BOTH_SCOPES = ("rostering/import", "rostering/read")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    tenant: str = TENANT_A,
    scopes: tuple[str, ...] | None = BOTH_SCOPES,
    base64_body: bool = True,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The canonical upload event re-aimed at ``method path``, as the JWT authorizer passes it on.
    ``scopes=None`` leaves the authorizer's ``scopes`` null, as API Gateway sometimes does."""
    event = copy.deepcopy(load_event("upload_request.json"))
    route_key = f"{method} {path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["headers"] = {"host": event["headers"]["host"], **{k.lower(): v for k, v in (headers or {}).items()}}
    jwt = event["requestContext"]["authorizer"]["jwt"]
    jwt["claims"]["client_id"] = jwt["claims"]["sub"] = tenant
    jwt["claims"]["scope"] = " ".join(scopes or ())
    jwt["scopes"] = list(scopes) if scopes is not None else None
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is None:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    elif base64_body:
        raw = body.encode() if isinstance(body, str) else body
        event["body"] = base64.b64encode(raw).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["body"] = body if isinstance(body, str) else body.decode()
        event["isBase64Encoded"] = False
    return event


def response_json(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None
