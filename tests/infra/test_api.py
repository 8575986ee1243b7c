"""HTTP API: JWT authorizer wired to the pool and to the SSM list of tenants, the SPEC routes with
their scopes, the token routes open, stage throttling and access logs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra import constants as c
from lambdas.common import routes
from tests.infra.helpers import Resources, function_named, of_type

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


def test_authorizer_checks_the_pool_issuer_and_the_tenant_list_parameter(template: Template) -> None:
    parameter = next(iter(template.find_parameters("*", {"Type": c.TENANT_CLIENT_IDS_PARAMETER_TYPE})))

    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {
                "Audience": {"Ref": parameter},
                "Issuer": {
                    "Fn::Join": [
                        "",
                        [
                            "https://cognito-idp.",
                            {"Ref": "AWS::Region"},
                            ".amazonaws.com/",
                            {"Ref": Match.string_like_regexp("UserPool")},
                        ],
                    ]
                },
            },
        },
    )


def test_tenant_list_is_an_ssm_string_list_parameter_with_the_ops_default_name(template: Template) -> None:
    parameters = template.find_parameters("*", {"Type": "AWS::SSM::Parameter::Value<List<String>>"})

    assert {name: p["Default"] for name, p in parameters.items()} == {"TenantClientIds": "/rostering/tenant-client-ids"}


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
    else:
        assert props["AuthorizationType"] == "JWT"
        assert sorted(props["AuthorizationScopes"]) == sorted(row.scopes)


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


def test_first_tenant_client_is_accepted_by_the_authorizer_next_to_the_parameter(options_template: Template) -> None:
    authorizer = next(iter(options_template.find_resources("AWS::ApiGatewayV2::Authorizer").values()))
    audience = authorizer["Properties"]["JwtConfiguration"]["Audience"]

    assert audience["Fn::Split"][0] == ","
    joined = audience["Fn::Split"][1]["Fn::Join"][1]
    assert joined[0]["Fn::Join"][1] == {
        "Ref": next(iter(options_template.find_parameters("*", {"Type": c.TENANT_CLIENT_IDS_PARAMETER_TYPE})))
    }
    assert joined[1] == {"Ref": next(iter(options_template.find_resources("AWS::Cognito::UserPoolClient")))}
