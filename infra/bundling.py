"""The Lambda asset, bundled without Docker: the ``lambdas`` package plus its runtime wheels,
with their bytecode precompiled for the runtime's Python.

``/var/task`` is read-only, so without ``.pyc`` files every cold start compiles every module it
imports and throws the result away. ``compileall`` runs with the runtime's own Python version (the
``.pyc`` format changes with it) and ``--invalidation-mode unchecked-hash`` (PEP 552): the zip
does not keep source mtimes, so timestamp-checked ``.pyc`` files would be stale and ignored.
``make bench`` measures the import time without and with them (figure ``cold_import_precompiled``),
on the runtime's Python, from this asset.

One asset serves every function (see docs/INFRA.md for the size measurement behind that choice).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import constants as c

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "lambdas"
_IGNORED = ("__pycache__", "*.pyc", "tests", ".mypy_cache", ".ruff_cache")


@jsii.implements(ILocalBundling)
class LocalPythonBundling:
    """Copies ``lambdas/`` and pip-installs its requirements as aarch64 CPython wheels."""

    def try_bundle(self, output_dir: str, *, image: Any = None, **_: Any) -> bool:
        target = Path(output_dir)
        shutil.copytree(PACKAGE_DIR, target / PACKAGE_DIR.name, ignore=shutil.ignore_patterns(*_IGNORED))
        install_for_runtime(target, "--requirement", str(PACKAGE_DIR / c.LAMBDA_REQUIREMENTS))
        precompile(target, runtime_python())
        return True


def install_for_runtime(target: Path, *requirements: str) -> None:
    """pip-installs ``requirements`` (pip arguments) into ``target`` as the runtime's wheels:
    CPython of its version on its platform, binary wheels only, no bytecode (``precompile``)."""
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            *requirements,
            "--target", str(target),
            "--platform", c.LAMBDA_PLATFORM,
            "--implementation", "cp",
            "--python-version", c.LAMBDA_PYTHON_VERSION,
            "--only-binary=:all:",
        ],
        check=True,
    )  # fmt: skip


def runtime_python() -> str:
    """An interpreter of the Lambda runtime's Python version (``python3.13``), on PATH or under pyenv."""
    name = f"python{c.LAMBDA_PYTHON_VERSION}"
    candidates = [
        shutil.which(name),
        *sorted(Path.home().glob(f".pyenv/versions/{c.LAMBDA_PYTHON_VERSION}*/bin/{name}")),
    ]
    for candidate in filter(None, candidates):
        if subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:  # noqa: S603
            return str(candidate)
    raise RuntimeError(f"{name} is needed to precompile the Lambda asset's bytecode; install it (e.g. with pyenv)")


def precompile(target: Path, python: str) -> None:
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)],
        check=True,
    )


def lambda_code() -> lambda_.Code:
    """One asset for all functions; the source hash covers the package and its requirements file."""
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        exclude=list(_IGNORED),
        bundling=BundlingOptions(image=DockerImage.from_registry("unused"), local=LocalPythonBundling()),
    )
