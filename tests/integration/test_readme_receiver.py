"""The README's 10-line webhook receiver, run as printed: it accepts what the service signs,
refuses a wrong signature and an old timestamp, and hands each event id to the app once."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from lambdas.webhooks.signing import signature

README = Path(__file__).resolve().parents[2] / "README.md"


def receiver_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (snippet,) = [b for b in blocks if "Roster-Signature" in b]
    return snippet


def test_the_snippet_is_ten_lines() -> None:
    assert len(receiver_snippet().strip().splitlines()) == 10


@pytest.fixture
def receiver(capsys: pytest.CaptureFixture[str]) -> Any:
    code = receiver_snippet().replace('b"whsec_..."', 'b"whsec_test"')
    body, serve = code.rsplit("\n", 2)[0], code.strip().splitlines()[-1]
    assert serve.startswith("HTTPServer(")
    namespace: dict[str, Any] = {}
    exec(body, namespace)  # the README's own code, under test
    server = HTTPServer(("127.0.0.1", 0), namespace["Receiver"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def send(url: str, body: bytes, header: str) -> int:
    headers = {"Content-Type": "application/json", "Roster-Signature": header}
    return requests.post(url, data=body, headers=headers, timeout=5).status_code


def test_the_snippet_verifies_and_deduplicates(receiver: str, capsys: pytest.CaptureFixture[str]) -> None:
    event = {"id": "e1", "type": "import.completed", "createdAt": "x", "data": {"referenceId": "r1", "summary": {}}}
    body = json.dumps(event).encode()
    now = int(time.time())
    assert send(receiver, body, signature("whsec_test", now, body)) == 200
    assert send(receiver, body, signature("whsec_test", now + 1, body)) == 200  # a retry
    assert send(receiver, body, signature("whsec_other", now, body)) == 400
    assert send(receiver, body, signature("whsec_test", now - 3600, body)) == 400
    assert send(receiver, body + b" ", signature("whsec_test", now, body)) == 400
    assert capsys.readouterr().out.count("import.completed r1") == 1
