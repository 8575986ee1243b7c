"""The route table is the only place a route is written: every path of every row reaches its
handler's resolver, and no other file of the server spells a path out."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from lambdas.common import routes
from testkit.apigw import http_event

ROOT = Path(__file__).resolve().parents[2]
SERVER = ("lambdas", "local", "infra", "ops", "app.py")
PATHS = [(route, path) for route in routes.ROUTES for path in route.paths]
IDS = [f"{route.method} {path}" for route, path in PATHS]


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "ref-1", path)


@pytest.mark.parametrize(("route", "path"), PATHS, ids=IDS)
def test_every_path_of_the_table_reaches_its_function_s_resolver(route: routes.Route, path: str, lambda_context):
    # Given a caller with no scope at all (the authorized routes answer 403 before touching AWS)
    handler = importlib.import_module(f"lambdas.handlers.{route.function}")
    event = http_event(route.method, _concrete(path), tenant="t", scopes=())

    # When the function's handler receives the event
    answer = handler.lambda_handler(event, lambda_context)

    # Then its resolver knows the route: an authorized route refuses the scope, the token route reads the form
    body = json.loads(answer["body"])
    if route.scopes is None:
        assert answer["statusCode"] == 400 and body["error"] == "invalid_request"
    else:
        assert answer["statusCode"] == 403 and body == {"message": "Forbidden"}


def test_an_unknown_path_is_not_served(lambda_context):
    handler = importlib.import_module("lambdas.handlers.status")
    answer = handler.lambda_handler(http_event("GET", "/api/v1/nothing/here"), lambda_context)
    assert answer["statusCode"] == 404


def _server_files() -> list[Path]:
    files: list[Path] = []
    for place in SERVER:
        found = ROOT / place
        files += [found] if found.is_file() else sorted(found.rglob("*.py"))
    return files


@pytest.mark.parametrize(("route", "path"), PATHS, ids=IDS)
def test_each_route_path_is_written_only_in_the_route_table(route: routes.Route, path: str):
    pattern = re.compile(re.escape(path) + r"(?![\w/{<-])")
    writers = [f for f in _server_files() if pattern.search(f.read_text())]
    assert [f.relative_to(ROOT).as_posix() for f in writers] == ["lambdas/common/routes.py"]
