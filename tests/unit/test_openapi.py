"""openapi.yaml stays true to the routes the gateway (and the CDK stack) serve."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from local.gateway import ROUTES

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


def test_every_gateway_route_is_documented_with_its_method():
    documented = {(method.upper(), path) for path, item in SPEC["paths"].items() for method in item}
    assert {(route.method, route.path) for route in ROUTES} == documented


def test_routes_with_an_authorizer_require_the_bearer_scheme_and_token_routes_do_not():
    for route in ROUTES:
        operation = SPEC["paths"][route.path][route.method.lower()]
        security = operation.get("security", SPEC["security"])
        assert (security == []) == (route.scopes is None), route.key


def test_every_application_error_code_is_listed():
    from lambdas.common import errors

    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError) and cls.status < 500 and cls.code != "FORBIDDEN"
    } | {"UPLOAD_ERROR"}
    assert codes == set(SPEC["components"]["schemas"]["Error"]["properties"]["code"]["enum"])


def test_path_parameters_are_declared():
    for route in ROUTES:
        names = set(re.findall(r"\{(\w+)\}", route.path))
        operation = SPEC["paths"][route.path][route.method.lower()]
        declared = {
            SPEC["components"]["parameters"][p["$ref"].split("/")[-1]]["name"]
            for p in operation.get("parameters", [])
            if "$ref" in p
        }
        assert names <= declared, route.key
