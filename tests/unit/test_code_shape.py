"""The shape rules ruff cannot check: no function over 50 lines (decorators and docstring
included), no ``exec``/``eval``, no two classes of one name, and the folder convention (every
Lambda entry point is ``lambdas/handlers/<function>.py``, nothing imports a handler), in every
package of the repo."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambdas", "local", "infra", "ops", "rostercli", "bench", "testkit", "tests")
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


def test_every_function_is_one_module_of_lambdas_handlers():
    from infra import constants

    specs = {v.name for v in vars(constants).values() if isinstance(v, constants.FunctionSpec)}
    handlers = {f.stem for f in (ROOT / "lambdas" / "handlers").glob("*.py") if f.stem != "__init__"}
    assert specs == handlers
    entry_points = [
        _where(path, node)
        for path, tree in MODULES
        if path.is_relative_to(ROOT / "lambdas") and not path.is_relative_to(ROOT / "lambdas" / "handlers")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "lambda_handler"
    ]
    assert entry_points == []


def test_no_server_module_imports_a_handler():
    """Handlers are the top of the house: the local stack loads them by name, nothing else imports them."""
    importers = [
        _where(path, node)
        for path, tree in MODULES
        if path.relative_to(ROOT).parts[0] in ("lambdas", "infra", "ops")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lambdas.handlers")
    ]
    assert importers == []
