"""The installed `roster` command against the local stack, as a user runs it: a subprocess with ROSTER_* settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.local_stack import TENANTS, RunningStack

pytestmark = pytest.mark.e2e

ROSTER = Path(sys.executable).with_name("roster")  # the console script `make run` / `make test` install
HEADER = "user_username,user_name,user_password,user_email,user_language,user_active\n"
Roster = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def roster(stack: RunningStack, tmp_path: Path) -> Roster:
    """Run `roster ARGS` in tmp_path with the tenant-one settings in the environment, a private HOME and cache."""

    def run(*args: str, secret: str = TENANTS["tenant-one"], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ROSTER_", "AWS_", "XDG_"))},
            "HOME": str(tmp_path),
            "ROSTER_API_URL": stack.base_url,
            "ROSTER_CLIENT_ID": "tenant-one",
            "ROSTER_CLIENT_SECRET": secret,
            "ROSTER_CACHE_DIR": str(tmp_path / "cache"),
        }
        return subprocess.run(
            [str(ROSTER), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    return run


def users_csv(tmp_path: Path, *rows: str, name: str = "users.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def valid_user(prefix: str, i: int = 0) -> str:
    return f"{prefix}{i},User {i},Secret#Pass1,{prefix}{i}@example.org,en-US,TRUE"


def unique() -> str:
    return "u" + uuid.uuid4().hex[:10]


def test_upload_wait_prints_the_summary_and_exits_0(roster, tmp_path):
    prefix = unique()
    users = users_csv(tmp_path, valid_user(prefix, 1), valid_user(prefix, 2))

    done = roster("upload", str(users), "--wait", "--interval", "0.2")

    assert done.returncode == 0, done.stderr
    assert "Status     COMPLETED" in done.stdout
    assert "Rows       2: 2 created" in done.stdout


def test_upload_with_bad_rows_exits_2_and_lists_their_row_numbers(roster, tmp_path):
    prefix = unique()
    users = users_csv(
        tmp_path,
        valid_user(prefix, 1),
        f"{prefix}2,Weak,weakpass,{prefix}2@example.org,en-US,TRUE",
        f"{prefix}3,No Mail,Secret#Pass1,not-an-email,en-US,TRUE",
    )

    done = roster("upload", str(users), "--wait", "--interval", "0.2")

    assert done.returncode == 2, done.stdout + done.stderr
    assert "COMPLETED_WITH_ERRORS" in done.stdout
    assert "row 3 user_password" in done.stdout
    assert "row 4 user_email" in done.stdout


def test_png_renamed_csv_exits_4_with_the_server_message(roster, tmp_path):
    picture = tmp_path / "users.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))

    done = roster("upload", str(picture))

    assert done.returncode == 4
    assert "INVALID_FILE_TYPE" in done.stderr and "not a CSV" in done.stderr


def test_wrong_secret_exits_5_and_never_prints_the_secret(roster, tmp_path):
    users = users_csv(tmp_path, valid_user(unique()))
    wrong = "wrong-secret-4242"

    done = roster("upload", str(users), "--json", secret=wrong)

    assert done.returncode == 5
    assert json.loads(done.stdout)["error"]["code"] == "invalid_client"
    assert wrong not in done.stdout + done.stderr


def test_wrong_secret_exits_5_even_with_a_token_cached_with_the_right_one(roster, tmp_path):
    # Given a token cached by a run with the right secret
    assert roster("token").returncode == 0
    users = users_csv(tmp_path, valid_user(unique()))

    # When the same client uploads with a wrong secret
    done = roster("upload", str(users), "--json", secret="wrong-secret-4242")

    # Then the cached token is not reused: authentication fails
    assert done.returncode == 5, done.stdout + done.stderr
    assert json.loads(done.stdout)["error"]["code"] == "invalid_client"


def big_groups_csv(path: Path, filler: Callable[[int], str]) -> Path:
    """About 9 MiB in ~150 rows (a fast import), the bulk in an unknown column (a warning, ignored)."""
    prefix = unique()
    rows = [f"{prefix}-{i},Group {i},{filler(i)}" for i in range(150)]
    path.write_text("group_name,group_description,notes\n" + "\n".join(rows) + "\n", encoding="ascii")
    assert 9 * 1024 * 1024 < path.stat().st_size < 10 * 1024 * 1024
    return path


def test_9mib_compressible_csv_goes_gzip_and_is_imported(roster, tmp_path):
    groups = big_groups_csv(tmp_path / "groups.csv", lambda i: (f"note {i} " * 9_000)[:65_536])

    done = roster("upload", str(groups), "--wait", "--interval", "0.3")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "gzip route" in done.stdout
    assert "150: 150 created" in done.stdout


def test_9mib_incompressible_csv_goes_presigned_and_is_imported(roster, tmp_path):
    groups = big_groups_csv(tmp_path / "groups.csv", lambda i: os.urandom(32 * 1024).hex())

    done = roster("upload", str(groups), "--wait", "--json", "--interval", "0.3")

    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["route"] == "presigned" and answer["idempotencyKey"] is None
    assert answer["job"]["status"] == "COMPLETED" and answer["job"]["summary"]["created"] == 150


def test_status_and_report_of_an_upload(roster, tmp_path):
    prefix = unique()
    users = users_csv(tmp_path, valid_user(prefix, 1), f"{prefix}2,Weak,weak,{prefix}2@example.org,en-US,TRUE")
    reference = json.loads(roster("upload", str(users), "--wait", "--json", "--interval", "0.2").stdout)["referenceId"]

    status = roster("status", reference)
    report = roster("report", reference, "-o", "report.csv")

    assert status.returncode == 2 and reference in status.stdout and "row 3 user_password" in status.stdout
    assert report.returncode == 0, report.stderr
    lines = (tmp_path / "report.csv").read_text().splitlines()
    assert lines[0] == "row,key,outcome,code,column,message"
    assert lines[1].startswith(f"2,{prefix}1,created") and lines[2].startswith("3,")
    assert "Secret#Pass1" not in "\n".join(lines)


def test_status_of_an_unknown_reference_exits_4(roster):
    done = roster("status", str(uuid.uuid4()))

    assert done.returncode == 4 and "NOT_FOUND" in done.stderr


def test_same_file_uploaded_twice_is_imported_once(roster, tmp_path):
    # A retried cron job: the content-derived Idempotency-Key answers with the first referenceId
    users = users_csv(tmp_path, valid_user(unique()))

    first = json.loads(roster("upload", str(users), "--json").stdout)
    second = json.loads(roster("upload", str(users), "--json").stdout)

    assert first["referenceId"] == second["referenceId"]
    assert first["idempotencyKey"] == second["idempotencyKey"]


def test_token_prints_a_jwt_and_is_served_from_the_cache_next_time(roster, tmp_path):
    first = roster("token")
    second = roster("token")

    assert first.returncode == 0
    token = first.stdout.strip()
    assert token.count(".") == 2 and token.startswith("eyJ")
    assert second.stdout.strip() == token  # a new token would carry a new jti
    (cached,) = (tmp_path / "cache").iterdir()
    assert oct(cached.stat().st_mode & 0o777) == "0o600"
    assert TENANTS["tenant-one"] not in cached.read_text()


def test_python_dash_m_rostercli_runs_the_same_command(stack, tmp_path):
    env = {**os.environ, "ROSTER_API_URL": stack.base_url, "ROSTER_CLIENT_ID": "tenant-one"}
    env |= {"ROSTER_CLIENT_SECRET": TENANTS["tenant-one"], "ROSTER_CACHE_DIR": str(tmp_path)}

    done = subprocess.run(
        [sys.executable, "-m", "rostercli", "token"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0 and done.stdout.count(".") == 2
