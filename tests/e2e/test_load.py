"""Load on the local stack: concurrent clients, mixed templates, bad rows and replayed
Idempotency-Keys. Every accepted upload ends terminal with exact counts; nothing is lost or doubled."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from testkit.local_stack import TENANTS, RunningStack

pytestmark = pytest.mark.e2e

# Small in `make test` (every kind of upload, a replay included); `make fuzz` sets the full size.
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "4"))
UPLOADS_PER_CLIENT = int(os.environ.get("LOAD_UPLOADS_PER_CLIENT", "8"))
ROWS = 4
TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"}
USERS_HEADER = "user_username,user_name,user_password,user_email,user_language,user_active"


@dataclass(frozen=True)
class Planned:
    key: str  # Idempotency-Key
    content: bytes
    users: int  # rows that must be created
    bad_rows: int


def plan(client: int, number: int) -> Planned:
    """Upload ``number`` of ``client``: users or groups, every fifth with a bad row, every
    seventh a replay of the client's previous upload (same key, same bytes)."""
    if number % 7 == 6:
        return plan(client, number - 1)
    prefix = f"c{client:02d}n{number:02d}"
    bad = 1 if number % 5 == 4 else 0
    if number % 2:
        rows = [f"{prefix}g{i},Group {i},TRUE" for i in range(ROWS)]
        text = "group_name,group_description,group_active\n" + "\n".join(rows) + "\n"
        return Planned(f"load-{prefix}", text.encode(), 0, 0)
    rows = [f"{prefix}u{i},User {i},Secret#Pass{i},{prefix}u{i}@example.org,en-US,TRUE" for i in range(ROWS - bad)]
    rows += [f"{prefix}bad,Bad User,Secret#Pass9,not-an-email,en-US,TRUE"] * bad
    return Planned(f"load-{prefix}", (USERS_HEADER + "\n" + "\n".join(rows) + "\n").encode(), ROWS - bad, bad)


def run_client(stack: RunningStack, client: int) -> list[tuple[Planned, str]]:
    token = stack.token("tenant-two")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    accepted = []
    for number in range(UPLOADS_PER_CLIENT):
        planned = plan(client, number)
        response = session.post(
            f"{stack.base_url}/api/v1/upload",
            headers={"Idempotency-Key": planned.key},
            files={"file": ("load.csv", planned.content, "text/csv")},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        accepted.append((planned, response.json()["result"]["referenceId"]))
    return accepted


def wait_all(stack: RunningStack, references: set[str], timeout: float) -> dict[str, dict[str, Any]]:
    token = stack.token("tenant-two")
    results: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(results) < len(references) and time.monotonic() < deadline:
        for ref in references - results.keys():
            answer = requests.get(
                f"{stack.base_url}/api/v1/status/{ref}", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            result = answer.json()["result"]
            if result["status"] in TERMINAL:
                results[ref] = result
        time.sleep(0.5)
    return results


def test_concurrent_uploads_all_end_terminal_with_exact_totals(stack):
    assert "tenant-two" in TENANTS
    # Given 20 clients uploading 10 files each, some bad, some replays
    with ThreadPoolExecutor(CLIENTS) as pool:
        accepted = [item for batch in pool.map(lambda c: run_client(stack, c), range(CLIENTS)) for item in batch]
    by_key: dict[str, set[str]] = {}
    for planned, ref in accepted:
        by_key.setdefault(planned.key, set()).add(ref)
    # Then a replayed key answered the same referenceId, and distinct keys distinct ones
    assert all(len(refs) == 1 for refs in by_key.values())
    references = {ref for refs in by_key.values() for ref in refs}
    assert len(references) == len(by_key)
    # And every accepted upload reaches a terminal state with the planned counts
    results = wait_all(stack, references, timeout=300)
    assert len(results) == len(references), f"{len(references) - len(results)} uploads never finished"
    unique = {planned.key: (planned, ref) for planned, ref in accepted}
    for planned, ref in unique.values():
        summary = results[ref]["summary"]
        assert summary["rows"] == ROWS and summary["failed"] == planned.bad_rows, (ref, results[ref])
        assert results[ref]["status"] == ("COMPLETED_WITH_ERRORS" if planned.bad_rows else "COMPLETED")
    # And the roster holds exactly the users the files created, once each
    created_users = sum(planned.users for planned, _ in unique.values())
    table = stack.aws("dynamodb")
    count = 0
    for page in table.get_paginator("scan").paginate(
        TableName="rostering-roster",
        FilterExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "tenant-two#USER"}},
        Select="COUNT",
    ):
        count += page["Count"]
    assert count == created_users
    # And the dead-letter queue is empty
    sqs = stack.aws("sqs")
    dlq = sqs.get_queue_url(QueueName="rostering-import-dlq")["QueueUrl"]
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
