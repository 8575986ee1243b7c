"""openapi.yaml stays true to the route table that the handlers, the gateway and the CDK stack read:
every path of every row, aliases included."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from lambdas.common.routes import ROUTES

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


PATHS = [(route, path) for route in ROUTES for path in route.paths]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def test_every_path_of_the_route_table_is_documented_with_its_method_and_nothing_else_is():
    documented = {
        (method.upper(), path) for path, item in SPEC["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert {(route.method, path) for route, path in PATHS} == documented


def test_routes_with_an_authorizer_require_the_bearer_scheme_and_token_routes_do_not():
    for route, path in PATHS:
        operation = SPEC["paths"][path][route.method.lower()]
        security = operation.get("security", SPEC["security"])
        assert (security == []) == (route.scopes is None), f"{route.method} {path}"


def test_every_application_error_code_is_listed():
    from lambdas.common import edge, errors

    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError) and cls.status < 500 and cls.code != "FORBIDDEN"
    } | {"UPLOAD_ERROR", edge.LENGTH_REQUIRED_CODE}
    assert codes == set(SPEC["components"]["schemas"]["Error"]["properties"]["code"]["enum"])


def test_path_parameters_are_declared():
    for route, path in PATHS:
        names = set(re.findall(r"\{(\w+)\}", path))
        operation = SPEC["paths"][path][route.method.lower()]
        declared = {
            SPEC["components"]["parameters"][p["$ref"].split("/")[-1]]["name"]
            for p in operation.get("parameters", [])
            if "$ref" in p
        }
        assert names <= declared, f"{route.method} {path}"
