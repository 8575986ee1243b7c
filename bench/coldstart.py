"""Cold-start figures of the upload handler (PERFORMANCE.md 4 and 11), measured as Lambda starts
it: on the runtime's Python (``infra.bundling.runtime_python``), from the asset ``cdk synth``
bundles (``LocalPythonBundling``: ``lambdas/`` and its wheels, bytecode precompiled), with boto3
beside it as the runtime provides it (installed for the runtime, precompiled).

- 4: the handler's import against the import of boto3 and Powertools alone, both from there;
- 11: the handler's import from that asset against a copy of it without ``.pyc`` files (what
  every cold start would compile on Lambda's read-only ``/var/task``).

Imports run in fresh processes with ``PYTHONDONTWRITEBYTECODE=1``, alternating, each side of a
pair first in every other turn. The asset's wheels are for the runtime's platform (arm64); the
upload handler imports none with compiled code, so it imports on this host too (if it ever did,
the probe would fail, not pass).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bench.harness import Figure, Pairs
from infra.bundling import LocalPythonBundling, install_for_runtime, precompile, runtime_python

PROBE = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
HANDLER_IMPORT = "import lambdas.handlers.upload"
FLOOR_IMPORT = (
    "import boto3; from aws_lambda_powertools import Logger, Metrics; "
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver"
)


@dataclass(frozen=True)
class Runtime:
    """The runtime's Python, the bundled asset, a copy of it without bytecode, and boto3."""

    python: str
    asset: Path
    uncompiled: Path
    boto3: Path

    def import_seconds(self, statement: str, *, asset: Path) -> float:
        """``statement``'s time in a fresh process on the runtime's Python, ``asset`` first on its path."""
        path = [asset, self.boto3]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path)), "PYTHONDONTWRITEBYTECODE": "1"}
        code = PROBE.format(statement=statement)
        done = subprocess.run(
            [self.python, "-s", "-c", code], capture_output=True, text=True, check=True, env=env, cwd=path[0]
        )
        return float(done.stdout)


@contextmanager
def lambda_runtime() -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory() as root:
        python = runtime_python()
        asset, uncompiled, boto3 = Path(root, "asset"), Path(root, "uncompiled"), Path(root, "boto3")
        LocalPythonBundling().try_bundle(str(asset))
        shutil.copytree(asset, uncompiled, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        install_for_runtime(boto3, f"boto3=={version('boto3')}")  # the version the service is tested with
        precompile(boto3, python)
        yield Runtime(python, asset, uncompiled, boto3)


def run(repeat: int) -> list[Figure]:
    with lambda_runtime() as runtime:
        imports, precompiled = Pairs([], []), Pairs([], [])
        for turn in range(repeat):
            runs = [
                (imports.ours, HANDLER_IMPORT, runtime.asset),
                (imports.base, FLOOR_IMPORT, runtime.asset),
                (precompiled.ours, HANDLER_IMPORT, runtime.asset),
                (precompiled.base, HANDLER_IMPORT, runtime.uncompiled),
            ]
            for samples, statement, asset in runs if turn % 2 else reversed(runs):  # each side first in turn
                samples.append(runtime.import_seconds(statement, asset=asset))
    figure = precompiled.figure("cold_import_precompiled", 0.8)
    figure.note = f"without .pyc {figure.floor:.0f} ms, with .pyc {figure.measured:.0f} ms"
    return [imports.figure("cold_import_upload", 1.2), figure]
