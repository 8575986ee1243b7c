"""The one test that really bundles: pip downloads aarch64/CPython 3.13 wheels from PyPI.

Every handler named in the template must be a module file of the asset; missing ones point at
Lambda code not written yet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import constants as c
from infra.app import build_app
from tests.infra.helpers import Resources, function_named


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Resources, Path]:
    """(template resources, asset directory) of a fully bundled synth."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(nag=False, outdir=str(outdir)).synth()
    template = json.loads((outdir / f"{c.STACK_NAME}.template.json").read_text())
    assets = json.loads((outdir / f"{c.STACK_NAME}.assets.json").read_text())["files"]
    (asset_dir,) = {outdir / a["source"]["path"] for a in assets.values() if a["source"].get("packaging") == "zip"}
    return template["Resources"], asset_dir


def test_all_functions_share_one_asset(bundled: tuple[Resources, Path]) -> None:
    resources, asset_dir = bundled

    keys = {function_named(resources, spec)[1]["Properties"]["Code"]["S3Key"] for spec in c.FUNCTIONS}

    assert keys == {f"{asset_dir.name.removeprefix('asset.')}.zip"}


@pytest.mark.parametrize("spec", c.FUNCTIONS, ids=lambda s: s.name)
def test_handler_module_exists_in_the_asset(bundled: tuple[Resources, Path], spec: c.FunctionSpec) -> None:
    resources, asset_dir = bundled
    handler = function_named(resources, spec)[1]["Properties"]["Handler"]

    module, _, function = handler.rpartition(".")
    path = asset_dir / (module.replace(".", "/") + ".py")

    assert path.is_file(), f"{handler}: {path.relative_to(asset_dir)} is missing from the asset"
    source = path.read_text(encoding="utf-8")
    assert f"def {function}(" in source or f"{function} =" in source, f"{handler}: no {function} in the module"


def wheel_tags(dist_info: Path) -> list[str]:
    lines = (dist_info / "WHEEL").read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("Tag: ") for line in lines if line.startswith("Tag: ")]


def built_for_lambda(tag: str) -> bool:
    """Pure Python 3, or CPython 3.13 (or the stable ABI from an older CPython: abi3) on aarch64."""
    pure = tag.startswith("py3-") and tag.endswith("-any")
    native = "aarch64" in tag and (tag.startswith("cp313-") or (tag.startswith("cp3") and "-abi3-" in tag))
    return pure or native


def test_asset_holds_runtime_dependencies_built_for_aarch64_python3(bundled: tuple[Resources, Path]) -> None:
    _, asset_dir = bundled

    tags = {p.name.split("-")[0].lower(): wheel_tags(p) for p in asset_dir.glob("*.dist-info")}

    assert {"aws_lambda_powertools", "multipart"} <= set(tags)
    assert (asset_dir / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (asset_dir / "multipart.py").is_file() or (asset_dir / "multipart" / "__init__.py").is_file()
    assert {name: t for name, t in tags.items() if not any(map(built_for_lambda, t))} == {}
    assert not [p for p in asset_dir.rglob("*.so") if "x86_64" in p.name]


def test_asset_leaves_out_tests_and_boto3(bundled: tuple[Resources, Path]) -> None:
    _, asset_dir = bundled

    assert not (asset_dir / "lambdas" / "tests").exists()
    assert not (asset_dir / "boto3").exists()


def test_asset_holds_unchecked_hash_bytecode_for_the_runtime_python_of_every_module(
    bundled: tuple[Resources, Path],
) -> None:
    _, asset_dir = bundled
    tag = f"cpython-{c.LAMBDA_PYTHON_VERSION.replace('.', '')}"
    sources = [p for p in (asset_dir / "lambdas").rglob("*.py")] + list(
        (asset_dir / "aws_lambda_powertools").rglob("*.py")
    )
    missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
    assert sources and missing == []
    pyc = (asset_dir / "lambdas" / "__pycache__" / f"__init__.{tag}.pyc").read_bytes()
    flags = int.from_bytes(pyc[4:8], "little")
    assert flags == 0b01  # PEP 552: hash-based, not checked against the source (the zip drops mtimes)
    assert not [p for p in asset_dir.rglob("*.pyc") if "cpython-311" in p.name or "cpython-312" in p.name]
