"""The shape rules ruff cannot check: no function over 50 lines (decorators and docstring
included), no ``exec``/``eval``, and no two classes of one name, in every package of the repo."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambdas", "local", "infra", "ops", "rostercli", "bench", "tests")
MAX_FUNCTION_LINES = 50
GENERATORS = {"exec", "eval", "compile"}


def _modules() -> list[tuple[Path, ast.Module]]:
    files = [ROOT / "app.py"] + [f for package in PACKAGES for f in sorted((ROOT / package).rglob("*.py"))]
    return [(f, ast.parse(f.read_text(encoding="utf-8"), filename=str(f))) for f in files]


MODULES = _modules()


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def test_no_function_is_over_50_lines():
    long = []
    for path, tree in MODULES:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{_where(path, node)} {node.name}: {lines} lines")
    assert long == []


def test_no_code_is_generated_at_run_time():
    calls = [
        f"{_where(path, node)} {node.func.id}"
        for path, tree in MODULES
        if not path.is_relative_to(ROOT / "tests")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GENERATORS
    ]
    assert calls == []


def test_no_two_classes_of_the_server_share_a_name():
    server = ("lambdas", "local", "infra", "ops")
    places: dict[str, list[str]] = defaultdict(list)
    for path, tree in MODULES:
        if path.relative_to(ROOT).parts[0] in server:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    places[node.name].append(_where(path, node))
    assert {name: where for name, where in places.items() if len(where) > 1} == {}
