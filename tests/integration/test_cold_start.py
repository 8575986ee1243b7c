"""Every function fails its cold start (the import of its handler) when the environment lacks a
name it needs, instead of starting against a local default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambdas.common.config import Env
from lambdas.common.routes import functions

ROOT = Path(__file__).resolve().parents[2]
NEEDS = {
    "upload": Env.BUCKET_NAME,
    "status": Env.JOBS_TABLE_NAME,
    "token": Env.TOKEN_ENDPOINT_URL,
    "importer": Env.IMPORT_QUEUE_URL,
    "deadletter": Env.IMPORT_QUEUE_URL,
    "control": Env.WEBHOOK_KEY_ID,
    "delivery": Env.WEBHOOK_QUEUE_URL,
}


def _import(function: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"import lambdas.handlers.{function}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_function_is_covered():
    assert set(functions()) | {"importer", "deadletter", "delivery"} == set(NEEDS)


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_a_missing_name_fails_the_cold_start_with_a_configuration_error(function: str):
    env = {k: v for k, v in os.environ.items() if k != NEEDS[function]}

    result = _import(function, env)

    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr and NEEDS[function] in result.stderr


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_with_every_name_the_handler_imports(function: str):
    assert _import(function, dict(os.environ)).returncode == 0
