"""The Lambda asset, bundled without Docker: the ``lambdas`` package plus its runtime wheels.

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
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                "--requirement", str(PACKAGE_DIR / c.LAMBDA_REQUIREMENTS),
                "--target", str(target),
                "--platform", c.LAMBDA_PLATFORM,
                "--implementation", "cp",
                "--python-version", c.LAMBDA_PYTHON_VERSION,
                "--only-binary=:all:",
            ],
            check=True,
        )  # fmt: skip
        return True


def lambda_code() -> lambda_.Code:
    """One asset for all functions; the source hash covers the package and its requirements file."""
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        exclude=list(_IGNORED),
        bundling=BundlingOptions(image=DockerImage.from_registry("unused"), local=LocalPythonBundling()),
    )
