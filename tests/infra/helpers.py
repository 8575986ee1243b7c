"""Template lookups shared by the infra tests."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack

from infra import constants as c

NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
Resources = dict[str, dict[str, Any]]


def stack_of(app: App) -> Stack:
    stack = app.node.find_child(c.STACK_NAME)
    assert isinstance(stack, Stack)
    return stack


def of_type(resources: Resources, type_: str) -> Resources:
    return {name: res for name, res in resources.items() if res["Type"] == type_}


def function_named(resources: Resources, spec: c.FunctionSpec) -> tuple[str, dict[str, Any]]:
    """The Lambda function whose handler is ``spec.handler`` (exactly one)."""
    found = [
        (name, res)
        for name, res in of_type(resources, "AWS::Lambda::Function").items()
        if res["Properties"].get("Handler") == spec.handler
    ]
    assert len(found) == 1, f"expected one function with handler {spec.handler}, found {len(found)}"
    return found[0]


def role_statements(resources: Resources, spec: c.FunctionSpec) -> list[dict[str, Any]]:
    """All policy statements attached to the role of ``spec``'s function."""
    _, function = function_named(resources, spec)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)
