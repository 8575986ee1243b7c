"""`roster` over HTTP against a scripted server thread on 127.0.0.1: retries, token cache, secret hygiene."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rostercli.api import Client, Rejected, make_session
from rostercli.cli import main
from rostercli.config import Settings
from rostercli.plan import plan_upload

SECRET = "s3cr3t-never-shown"
REF = "0b9e7f52-4c55-4e7e-9a77-55f1f9a8e0c1"
TOKEN = {"access_token": "header.payload.signature", "token_type": "Bearer", "expires_in": 3600}
JOB = {"referenceId": REF, "status": "COMPLETED", "fileName": "users.csv", "template": "users", "errors": []}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """Answers each path from its script (a list, consumed in order; the last answer repeats)."""

    url: str
    script: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, path: str, *answers: tuple[int, Any]) -> None:
        self.script[path] = list(answers)

    def calls(self, path: str) -> list[Seen]:
        return [request for request in self.seen if request.path == path]


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.reply()

        def do_POST(self) -> None:
            self.reply()

        def reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            fake.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            answers = fake.script.get(self.path) or [(404, {"message": "Not Found"})]
            status, payload = answers.pop(0) if len(answers) > 1 else answers[0]
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.answer("/api/v1/oauth2/tokens", (200, TOKEN))
    yield fake
    server.shutdown()
    server.server_close()


def client_for(api: FakeApi, tmp_path: Path) -> Client:
    settings = Settings(api_url=api.url, client_id="tenant-one", client_secret=SECRET, cache_dir=tmp_path / "cache")
    return Client(settings, session=make_session(backoff_factor=0))


def env_for(api: FakeApi, tmp_path: Path) -> dict[str, str]:
    return {
        "ROSTER_API_URL": api.url,
        "ROSTER_CLIENT_ID": "tenant-one",
        "ROSTER_CLIENT_SECRET": SECRET,
        "ROSTER_CACHE_DIR": str(tmp_path / "cache"),
        "ROSTER_CONFIG": str(write(tmp_path / "config.toml", b"")),
    }


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_503_is_retried_then_the_200_answer_is_used(api, tmp_path):
    api.answer(f"/api/v1/status/{REF}", (503, {"message": "Service Unavailable"}), (200, {"result": JOB}))

    job = client_for(api, tmp_path).status(REF)

    assert job["status"] == "COMPLETED"
    assert len(api.calls(f"/api/v1/status/{REF}")) == 2


def test_upload_post_503_is_retried_with_the_same_body_and_idempotency_key(api, tmp_path):
    api.answer("/api/v1/upload", (503, {"message": "Service Unavailable"}), (200, {"result": {"referenceId": REF}}))
    upload = plan_upload(write(tmp_path / "users.csv", b"user_username\njdoe\n"))

    result = client_for(api, tmp_path).upload(upload, dry_run=False, idempotency_key="key-1")

    first, second = api.calls("/api/v1/upload")
    assert result["referenceId"] == REF
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "key-1"
    assert first.body == second.body and b"jdoe" in second.body


def test_400_is_not_retried_and_carries_the_server_message(api, tmp_path):
    api.answer("/api/v1/upload", (400, {"code": "EMPTY_FILE", "message": "The file part is empty."}))
    upload = plan_upload(write(tmp_path / "users.csv", b"x"))

    with pytest.raises(Rejected, match="The file part is empty") as raised:
        client_for(api, tmp_path).upload(upload, dry_run=False, idempotency_key="key-1")

    assert raised.value.code == "EMPTY_FILE"
    assert len(api.calls("/api/v1/upload")) == 1


def test_token_is_requested_once_for_several_calls_and_runs(api, tmp_path):
    api.answer(f"/api/v1/status/{REF}", (200, {"result": JOB}))

    assert main(["status", REF], env=env_for(api, tmp_path)) == 0
    assert main(["status", REF], env=env_for(api, tmp_path)) == 0

    assert len(api.calls("/api/v1/oauth2/tokens")) == 1
    assert len(api.calls(f"/api/v1/status/{REF}")) == 2


def test_cached_token_refused_with_401_is_replaced_once(api, tmp_path):
    api.answer(f"/api/v1/status/{REF}", (401, {"message": "Unauthorized"}), (200, {"result": JOB}))
    client = client_for(api, tmp_path)
    client.token()  # cached

    assert client.status(REF)["status"] == "COMPLETED"
    assert len(api.calls("/api/v1/oauth2/tokens")) == 2


def test_wrong_secret_never_rides_on_a_token_cached_with_the_right_one(api, tmp_path, capsys):
    # Given a token cached by a run with the right secret
    api.answer("/api/v1/upload", (200, {"result": {"referenceId": REF, "message": "File uploaded"}}))
    users = write(tmp_path / "users.csv", b"user_username\njdoe\n")
    assert main(["upload", str(users)], env=env_for(api, tmp_path)) == 0
    # And a token endpoint that now refuses (the secret given next is wrong)
    api.answer("/api/v1/oauth2/tokens", (401, {"error": "invalid_client"}))
    wrong = {**env_for(api, tmp_path), "ROSTER_CLIENT_SECRET": "wrong-secret"}

    # When an upload runs with the wrong secret
    code = main(["upload", str(users)], env=wrong)

    # Then authentication fails (exit 5): the token was asked for again, and no upload was sent
    assert code == 5
    assert len(api.calls("/api/v1/oauth2/tokens")) == 2
    assert len(api.calls("/api/v1/upload")) == 1
    assert "invalid_client" in capsys.readouterr().err


def test_token_request_sends_client_credentials_as_http_basic(api, tmp_path):
    client_for(api, tmp_path).token()

    (request,) = api.calls("/api/v1/oauth2/tokens")
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.body == b"grant_type=client_credentials"


def test_refused_credentials_exit_5_and_never_print_the_secret(api, tmp_path, capsys):
    # Given a token endpoint that refuses, and even echoes the secret back
    api.answer("/api/v1/oauth2/tokens", (401, {"error": "invalid_client", "error_description": f"bad {SECRET}"}))

    # When any command runs, in text and JSON modes
    codes = [main(["token"], env=env_for(api, tmp_path)), main(["status", REF, "--json"], env=env_for(api, tmp_path))]

    # Then authentication failed, and the secret appears nowhere
    out, err = capsys.readouterr()
    assert codes == [5, 5]
    assert "invalid_client" in err and json.loads(out)["error"]["exitCode"] == 5
    assert SECRET not in out + err


def test_secret_is_not_in_output_nor_in_the_token_cache(api, tmp_path, capsys):
    api.answer("/api/v1/upload", (200, {"result": {"referenceId": REF, "message": "File uploaded"}}))
    api.answer(f"/api/v1/status/{REF}", (200, {"result": JOB}))
    users = write(tmp_path / "users.csv", b"user_username\njdoe\n")

    assert main(["upload", str(users), "--wait", "--json", "--interval", "0"], env=env_for(api, tmp_path)) == 0

    out, err = capsys.readouterr()
    assert json.loads(out)["job"]["status"] == "COMPLETED"
    assert SECRET not in out + err
    assert all(SECRET not in path.read_text() for path in (tmp_path / "cache").iterdir())


def test_wait_polls_until_terminal_and_exits_with_its_code(api, tmp_path, capsys):
    failed = {**JOB, "status": "FAILED", "errors": [{"row": 1, "column": None, "code": "NO_HEADER", "message": "x"}]}
    api.answer(f"/api/v1/status/{REF}", (200, {"result": {**JOB, "status": "PROCESSING"}}), (200, {"result": failed}))

    assert main(["status", REF, "--wait", "--interval", "0"], env=env_for(api, tmp_path)) == 3

    assert len(api.calls(f"/api/v1/status/{REF}")) == 2
    assert "row 1: NO_HEADER" in capsys.readouterr().out
