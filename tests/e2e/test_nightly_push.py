"""Nightly pushes over the local stack, black-box: files uploaded back to back without waiting
apply one at a time in upload order, two files changing the same records both take effect, and
files with values the store cannot hold end as a user expects (no job left PROCESSING)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from testkit.local_stack import RunningStack

pytestmark = pytest.mark.e2e

TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"}


class Client:
    def __init__(self, stack: RunningStack, tenant: str = "tenant-one") -> None:
        self.base = stack.base_url
        self.headers = {"Authorization": f"Bearer {stack.token(tenant)}"}

    def upload(self, name: str, content: bytes) -> str:
        response = requests.post(
            f"{self.base}/api/v1/upload", headers=self.headers, files={"file": (name, content, "text/csv")}, timeout=30
        )
        assert response.status_code == 200, response.text
        return str(response.json()["result"]["referenceId"])

    def status(self, ref: str) -> dict[str, Any]:
        response = requests.get(f"{self.base}/api/v1/status/{ref}", headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        return result

    def wait(self, refs: list[str], timeout: float = 240) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            results = [self.status(ref) for ref in refs]
            if all(r["status"] in TERMINAL for r in results) or time.monotonic() > deadline:
                return results
            time.sleep(0.3)


def csv_bytes(header: str, rows: list[str]) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def test_three_file_push_users_groups_links_all_created(stack: RunningStack) -> None:
    # Given 300 users, 3 groups and 300 memberships, uploaded one after the other without waiting
    client = Client(stack)
    users = csv_bytes(
        "user_username,user_name,user_password", [f"np{n:03d},User {n},Secret#{n:03d}" for n in range(300)]
    )
    groups = csv_bytes("group_name,group_description", ["np-maths,Maths", "np-art,Art", "np-chess,Chess"])
    links = csv_bytes(
        "user_username,group_name,group_role",
        [f"np{n:03d},{('np-maths', 'np-art', 'np-chess')[n % 3]},TEST_TAKER" for n in range(300)],
    )
    refs = [
        client.upload(name, content)
        for name, content in (("users.csv", users), ("groups.csv", groups), ("links.csv", links))
    ]
    # Then the later ones wait their turn, PENDING, with how many imports are ahead
    early = [client.status(ref) for ref in refs[1:]]
    assert all(r["status"] in ("PENDING", *TERMINAL) for r in early), early
    positions = [r["queuePosition"] for r in early if r["status"] == "PENDING"]
    assert all(isinstance(p, int) for p in positions) and positions == sorted(set(positions)), early
    # When they are done
    results = client.wait(refs)
    # Then all three completed in upload order and every link was created
    assert [r["status"] for r in results] == ["COMPLETED"] * 3, [r["errors"][:3] for r in results]
    assert [r["summary"]["created"] for r in results] == [300, 3, 300]
    assert results[1]["startedAt"] >= results[0]["finishedAt"]
    assert results[2]["startedAt"] >= results[1]["finishedAt"]
    assert all(r["queuePosition"] is None for r in results)


def test_two_updates_of_1500_groups_back_to_back_both_take_effect(stack: RunningStack) -> None:
    # Given 1,500 stored groups
    groups = 1500
    client = Client(stack)
    names = [f"up{groups}-{n:04d}" for n in range(groups)]
    seeded = client.wait(
        [client.upload("groups.csv", csv_bytes("group_name,group_description", [f"{n},old" for n in names]))]
    )
    assert seeded[0]["status"] == "COMPLETED"
    # When one file changes every description and the next deactivates every group, back to back
    describe = csv_bytes("group_name,group_description", [f"{n},new" for n in names])
    deactivate = csv_bytes("group_name,group_active", [f"{n},FALSE" for n in names])
    refs = [client.upload("describe.csv", describe), client.upload("deactivate.csv", deactivate)]
    results = client.wait(refs)
    # Then both updated every group
    assert [(r["status"], r["summary"]["updated"]) for r in results] == [("COMPLETED", groups)] * 2
    # And both changes were kept: the same two files again change nothing
    again = client.wait([client.upload("describe.csv", describe), client.upload("deactivate.csv", deactivate)])
    assert [(r["summary"]["updated"], r["summary"]["unchanged"]) for r in again] == [(0, groups)] * 2


def test_oversized_row_fails_alone(stack: RunningStack) -> None:
    # Given 20 valid groups and one row of four 120,000-character metadata cells
    client = Client(stack)
    header = "group_name,group_description," + ",".join(f"group_metadata_m{n}" for n in range(4))
    rows = [f"big-{n:02d},Group {n},,,," for n in range(20)]
    rows.insert(10, "big-row,x," + ",".join(["m" * 120_000] * 4))
    # When it is imported
    (result,) = client.wait([client.upload("groups.csv", csv_bytes(header, rows))])
    # Then that row fails VALUE_TOO_LONG and the 20 others are created
    assert result["status"] == "COMPLETED_WITH_ERRORS"
    assert result["summary"]["created"] == 20 and result["summary"]["failed"] == 1
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(12, "VALUE_TOO_LONG")]


def test_over_long_key_fails_alone(stack: RunningStack) -> None:
    # Given a groups file with one group name of 1,100 characters
    client = Client(stack)
    rows = [f"key-{n:02d},Group {n}" for n in range(20)] + ["k" * 1100 + ",too long"]
    (result,) = client.wait([client.upload("groups.csv", csv_bytes("group_name,group_description", rows))])
    assert result["status"] == "COMPLETED_WITH_ERRORS"
    assert (result["summary"]["created"], result["summary"]["failed"]) == (20, 1)
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(22, "VALUE_TOO_LONG")]


def test_header_of_9000_columns_fails_the_file(stack: RunningStack) -> None:
    # Given a groups header followed by 9,000 unknown columns
    client = Client(stack)
    header = "group_name,group_description," + ",".join(f"x{n}" for n in range(9000))  # < 64 KiB
    (result,) = client.wait([client.upload("groups.csv", csv_bytes(header, ["wide,Wide" + "," * 9000]))])
    # Then the file fails, nothing written
    assert result["status"] == "FAILED"
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(1, "TOO_MANY_COLUMNS")]
    assert result["summary"]["created"] == 0
