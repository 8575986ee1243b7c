"""Cold-start import time of the upload handler from a read-only asset, without and with the
bytecode ``infra/bundling.py`` precompiles into it (``/var/task`` is read-only: without ``.pyc``
files every cold start compiles every module it imports and cannot keep the result).

Both assets hold ``lambdas/`` and ``aws_lambda_powertools/`` copied without ``__pycache__``; the
precompiled one gets ``compileall --invalidation-mode unchecked-hash`` as the bundler runs it (here
with the host Python, so the ``.pyc`` files match the interpreter that imports them). Imports run in
fresh processes with ``PYTHONDONTWRITEBYTECODE=1``, alternating the two assets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aws_lambda_powertools

import lambdas
from bench.harness import Figure, Pairs
from infra.bundling import precompile

PROBE = "import time; t = time.perf_counter(); import lambdas.handlers.upload; print(time.perf_counter() - t)"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")


def _asset(root: Path) -> Path:
    for package in (lambdas, aws_lambda_powertools):
        source = Path(package.__file__ or "").parent
        shutil.copytree(source, root / source.name, ignore=IGNORED)
    return root


def _import_seconds(asset: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(asset), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env, cwd=asset)
    return float(done.stdout)


def run(repeat: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as compiled_dir:
        plain = _asset(Path(plain_dir))
        compiled = _asset(Path(compiled_dir))
        precompile(compiled, sys.executable)
        pairs = Pairs([], [])  # ours: with .pyc; floor: without
        for _ in range(repeat):
            pairs.base.append(_import_seconds(plain))
            pairs.ours.append(_import_seconds(compiled))
    figure = pairs.figure("cold_import_precompiled", 0.8)
    figure.note = f"without .pyc {figure.floor:.0f} ms, with .pyc {figure.measured:.0f} ms"
    return [figure]
