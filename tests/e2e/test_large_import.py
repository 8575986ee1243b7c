"""A 100,000-row users file with passwords, through the local stack: planned into chunks, applied
by concurrent importer invocations, finished once with exact counts. Slow: `make fuzz` runs it."""

from __future__ import annotations

import gzip
import time

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = 100_000


def test_100k_users_with_passwords_complete_with_exact_counts(stack):
    # Given a 100,000-row users file, one row in 10,000 with a weak password
    lines = ["user_username,user_name,user_password,user_email,user_language,user_active"]
    for n in range(ROWS):
        password = "weak" if n % 10_000 == 0 else f"Secret#{n:06d}"
        lines.append(f"big{n:06d},User {n},{password},big{n:06d}@example.org,en-US,TRUE")
    content = ("\n".join(lines) + "\n").encode()
    token = stack.token()
    # When it is uploaded gzip-compressed and imported
    response = requests.post(
        f"{stack.base_url}/api/v1/upload",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("users.csv.gz", gzip.compress(content), "application/gzip")},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    ref = response.json()["result"]["referenceId"]
    deadline = time.monotonic() + 900
    while True:
        result = requests.get(
            f"{stack.base_url}/api/v1/status/{ref}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()["result"]
        if result["status"] not in ("PENDING", "PROCESSING") or time.monotonic() > deadline:
            break
        time.sleep(2)
    # Then every row is accounted for exactly once
    assert result["status"] == "COMPLETED_WITH_ERRORS", result
    assert result["summary"]["rows"] == ROWS
    assert result["summary"]["created"] == ROWS - 10
    assert result["summary"]["failed"] == 10
    assert [error["row"] for error in result["errors"]] == [2 + n for n in range(0, ROWS, 10_000)]
