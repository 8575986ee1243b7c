"""The local stack as users start it (``python -m local``, what ``make run`` runs), as a child process
on a free port: for the end-to-end tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
TENANTS = {"tenant-one": "secret-one-123", "tenant-two": "secret-two-456"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def aws_url(self) -> str:
        """The moto endpoint the stack prints, to audit its bucket, tables and queues."""
        line = next(line for line in self.output if "AWS (moto) endpoint:" in line)
        return line.split("AWS (moto) endpoint:")[1].split()[0]

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def token(self, tenant: str = "tenant-one", scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", "client_id": tenant, "client_secret": TENANTS[tenant]}
        if scope:
            data["scope"] = scope
        response = requests.post(f"{self.base_url}/api/v1/oauth2/tokens", data=data, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_stack(port: int, **env: str) -> RunningStack:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PORT": str(port),
        "LOCAL_CLIENTS": ",".join(f"{k}:{v}" for k, v in TENANTS.items()),
        "PASSWORD_HASH_LOG2_N": "4",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = RunningStack(f"http://127.0.0.1:{port}", process)
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line)
            if "ready" in line:
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    deadline = time.monotonic() + 60
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError("local stack did not start:\n" + "".join(stack.output[-40:]))
    return stack
