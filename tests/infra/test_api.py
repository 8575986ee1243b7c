"""HTTP API: the tenant authorizer (a Lambda REQUEST authorizer over the pool's issuer and the tenant
registry, no per-tenant configuration), the route table's routes behind it, the token routes open,
stage throttling and access logs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra import constants as c
from lambdas.common import routes
from tests.infra.helpers import Resources, function_named, of_type, role_statements

READ_OR_IMPORT = [c.SCOPE_READ, c.SCOPE_IMPORT]


def route(resources: Resources, key: str) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == key
    ]
    assert len(found) == 1, f"route {key!r} defined {len(found)} times"
    return found[0]


def integration_function(resources: Resources, route_props: dict[str, Any]) -> str:
    """Logical id of the Lambda function behind a route."""
    integration_id = route_props["Target"]["Fn::Join"][1][1]["Ref"]
    uri = resources[integration_id]["Properties"]["IntegrationUri"]
    return str(uri["Fn::GetAtt"][0])


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_authorizer_is_the_tenant_function_cached_per_token_and_route(resources: Resources) -> None:
    (authorizer,) = of_type(resources, "AWS::ApiGatewayV2::Authorizer").values()
    props = authorizer["Properties"]

    assert props["AuthorizerType"] == "REQUEST"
    assert props["AuthorizerPayloadFormatVersion"] == "2.0" and props["EnableSimpleResponses"] is True
    assert props["IdentitySource"] == ["$request.header.Authorization", "$context.routeKey"]
    assert props["AuthorizerResultTtlInSeconds"] == c.AUTHORIZER_CACHE_TTL.to_seconds() == 300
    function_id, function = function_named(resources, c.AUTHORIZER)
    assert props["AuthorizerUri"]["Fn::Join"][1][-2] == {"Fn::GetAtt": [function_id, "Arn"]}
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables[c.Env.TOKEN_ISSUER_URL]["Fn::Join"][1][0] == "https://cognito-idp."
    assert variables[c.Env.TENANTS_TABLE_NAME]["Ref"].startswith("StorageTenants")


def test_no_per_tenant_configuration_anywhere(template: Template, resources: Resources) -> None:
    # No JWT audience list, no SSM list of clients, no app client made by the stack
    authorizers = of_type(resources, "AWS::ApiGatewayV2::Authorizer").values()
    assert not [a for a in authorizers if "JwtConfiguration" in a["Properties"]]
    assert template.to_json().get("Parameters", {}).keys() <= {"BootstrapVersion"}
    assert of_type(resources, "AWS::Cognito::UserPoolClient") == {}


def test_authorizer_reads_only_the_tenants_table(resources: Resources) -> None:
    statements = role_statements(resources, c.AUTHORIZER)
    dynamo = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _actions(s))]
    assert [_actions(s) for s in dynamo] == [["dynamodb:GetItem"]]


ROUTE_PATHS = [(route, path) for route in routes.ROUTES for path in route.paths]


@pytest.mark.parametrize(("row", "path"), ROUTE_PATHS, ids=[f"{r.method} {p}" for r, p in ROUTE_PATHS])
def test_every_path_of_the_route_table_reaches_its_function_with_its_scopes(
    resources: Resources, row: routes.Route, path: str
) -> None:
    props = route(resources, f"{row.method} {path}")

    spec = next(spec for spec in c.FUNCTIONS if spec.name == row.function)
    assert integration_function(resources, props) == function_named(resources, spec)[0]
    if row.scopes is None:
        assert props["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in props and "AuthorizationScopes" not in props
    else:  # the authorizer checks the row's scopes (routes.scopes_of); a Lambda authorizer's routes carry none
        assert props["AuthorizationType"] == "CUSTOM"
        assert props["AuthorizerId"] == {"Ref": next(iter(of_type(resources, "AWS::ApiGatewayV2::Authorizer")))}
        assert "AuthorizationScopes" not in props
        assert routes.scopes_of(f"{row.method} {path}") == row.scopes


def test_upload_needs_the_import_scope_and_reading_accepts_read_or_import() -> None:
    assert routes.UPLOAD.scopes == (c.SCOPE_IMPORT,) and routes.UPLOAD_URL.scopes == (c.SCOPE_IMPORT,)
    assert sorted(routes.STATUS.scopes or ()) == sorted(READ_OR_IMPORT)
    assert sorted(routes.DOWNLOAD.scopes or ()) == sorted(READ_OR_IMPORT)
    assert routes.TOKEN.scopes is None


def test_api_has_exactly_the_routes_of_the_table(resources: Resources) -> None:
    keys = {r["Properties"]["RouteKey"] for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()}

    assert keys == {f"{row.method} {path}" for row, path in ROUTE_PATHS}
    assert {
        "POST /api/v1/upload",
        "POST /api/v1/upload/api/v1/upload",
        "POST /api/v1/upload/url",
        "GET /api/v1/status/{referenceId}",
        "GET /api/v1/upload/api/v1/status/{referenceId}",
        "GET /api/v1/download/{referenceId}",
        "GET /api/v1/upload/api/v1/download/{referenceId}",
        "POST /api/v1/oauth2/tokens",
        "POST /api/v1/upload/v1/oauth2/tokens",
    } <= keys


def test_default_stage_is_throttled_and_logs_access_to_a_log_group(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": c.THROTTLE_RATE_LIMIT,
                "ThrottlingBurstLimit": c.THROTTLE_BURST_LIMIT,
            },
            "AccessLogSettings": {
                "DestinationArn": {"Fn::GetAtt": [Match.string_like_regexp("AccessLogs"), "Arn"]},
                "Format": Match.string_like_regexp(r"\$context\.requestId"),
            },
        },
    )


def test_token_function_forwards_to_the_pool_domain_token_endpoint(resources: Resources) -> None:
    _, token = function_named(resources, c.TOKEN)
    url = token["Properties"]["Environment"]["Variables"]["TOKEN_ENDPOINT_URL"]

    assert url == {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": next(n for n in resources if n.startswith("AuthUserPoolDomain"))},
                ".auth.",
                {"Ref": "AWS::Region"},
                ".amazoncognito.com/oauth2/token",
            ],
        ]
    }
