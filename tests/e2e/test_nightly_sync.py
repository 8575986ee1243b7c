"""Nightly-sync safety over the local stack, black-box (HTTP only): the imports list, the change
hold with approve and discard, abort, signed webhooks to a receiver on this machine, and tenant
isolation on every new route. A stack of its own: a held job must not stand in other tests' way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lambdas.webhooks.signing import verify
from testkit.local_stack import TENANTS, RunningStack, free_port, start_stack
from tests.webhook_fixtures import Receiver, receiver

TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "DISCARDED", "ABORTED"}


@pytest.fixture(scope="module")
def sync_stack() -> Iterator[RunningStack]:
    running = start_stack(free_port())
    yield running
    running.stop()


class Tenant:
    def __init__(self, stack: RunningStack, name: str) -> None:
        self.base = stack.base_url
        self.headers = {"Authorization": f"Bearer {stack.token(name)}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.base}{path}", headers=self.headers, timeout=30, **kwargs)

    def upload(self, content: bytes, **fields: str) -> str:
        answer = self.call("POST", "/api/v1/upload", files={"file": ("groups.csv", content, "text/csv")}, data=fields)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["result"]["referenceId"])

    def status(self, ref: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/v1/status/{ref}").json()["result"])

    def wait(self, ref: str, until: set[str] = TERMINAL | {"HELD"}, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (job := self.status(ref))["status"] not in until and time.monotonic() < deadline:
            time.sleep(0.3)
        return job


def groups(description: str, count: int = 40) -> bytes:
    return ("group_name,group_description\n" + "".join(f"g{n:03d},{description} {n}\n" for n in range(count))).encode()


@pytest.fixture(scope="module")
def one(sync_stack: RunningStack) -> Tenant:
    tenant = Tenant(sync_stack, "tenant-one")
    seeded = tenant.upload(groups("first"))
    assert tenant.wait(seeded)["status"] == "COMPLETED"
    return tenant


@pytest.fixture(scope="module")
def two(sync_stack: RunningStack) -> Tenant:
    return Tenant(sync_stack, "tenant-two")


def test_list_is_newest_first_with_a_working_next_token(one: Tenant) -> None:
    refs = [one.upload(b"group_name\nsolo\n") for _ in range(3)]
    for ref in refs:
        one.wait(ref)
    first = one.call("GET", "/api/v1/imports", params={"limit": "2"}).json()["result"]
    second = one.call("GET", "/api/v1/imports", params={"limit": "2", "nextToken": first["nextToken"]}).json()
    listed = [item["referenceId"] for item in first["imports"] + second["result"]["imports"]]
    assert listed[:3] == refs[::-1] and first["nextToken"]
    assert "errors" not in first["imports"][0] and "warnings" not in first["imports"][0]


def test_a_big_update_is_held_keeps_later_uploads_waiting_then_approved(one: Tenant) -> None:
    # Given a 40-row update of the tenant's 40 groups with changeThreshold=25: HELD, nothing written
    held = one.upload(groups("second"), changeThreshold="25")
    job = one.wait(held)
    assert job["status"] == "HELD" and job["summary"]["updated"] == 40
    # And a later upload of the tenant stays PENDING behind it
    later = one.upload(b"group_name\nafter-the-hold\n")
    time.sleep(3)
    assert one.status(later)["status"] == "PENDING"
    # When it is approved, then it completes with 40 updated, and the later one completes after it
    approved = one.call("POST", f"/api/v1/imports/{held}/approve")
    assert approved.status_code == 200 and approved.json()["result"]["status"] == "PENDING"
    done = one.wait(held, until=TERMINAL)
    assert done["status"] == "COMPLETED" and done["summary"]["updated"] == 40
    assert one.wait(later, until=TERMINAL)["status"] == "COMPLETED"
    again = one.call("POST", f"/api/v1/imports/{held}/approve")
    assert again.status_code == 409 and again.json()["code"] == "INVALID_STATE"


def test_discard_leaves_the_roster_as_it_was(one: Tenant) -> None:
    current = one.status(
        one.call("GET", "/api/v1/imports", params={"limit": "1"}).json()["result"]["imports"][0]["referenceId"]
    )
    assert current["status"] in TERMINAL
    held = one.upload(groups("third"), changeThreshold="25")
    assert one.wait(held)["status"] == "HELD"
    discarded = one.call("POST", f"/api/v1/imports/{held}/discard")
    assert discarded.status_code == 200 and discarded.json()["result"]["status"] == "DISCARDED"
    # The roster is unchanged: a dry run of the "third" file would still update all 40 groups
    probe = one.upload(groups("third"), dryRun="true")
    assert one.wait(probe)["summary"]["updated"] == 40


def test_abort_of_a_finished_job_is_invalid_state(one: Tenant) -> None:
    ref = one.upload(b"group_name\nabort-me\n")
    one.wait(ref, until=TERMINAL)
    answer = one.call("POST", f"/api/v1/imports/{ref}/abort")
    assert answer.status_code == 409 and answer.json()["code"] == "INVALID_STATE"


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/hook", "https://192.168.1.1/", "ftp://127.0.0.1/"],
)
def test_metadata_private_and_non_http_urls_are_refused(two: Tenant, url: str) -> None:
    answer = two.call("PUT", "/api/v1/webhook", json={"url": url})
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_WEBHOOK_URL"


def test_a_local_receiver_gets_a_signed_completed_event(two: Tenant) -> None:
    app: Receiver
    with receiver() as app:
        registered = two.call("PUT", "/api/v1/webhook", json={"url": app.url})
        assert registered.status_code == 200
        secret = registered.json()["result"]["secret"]
        shown = two.call("GET", "/api/v1/webhook").json()["result"]
        assert "secret" not in shown and shown["url"] == app.url
        ref = two.upload(b"group_name\nnotified\n")
        assert two.wait(ref, until=TERMINAL)["status"] == "COMPLETED"
        deadline = time.monotonic() + 30
        while not app.requests and time.monotonic() < deadline:
            time.sleep(0.2)
    request = app.requests[0]
    assert verify(secret, request.headers["roster-signature"], request.body, now=int(time.time()))
    assert request.event["type"] == "import.completed" and request.event["data"]["referenceId"] == ref
    assert request.headers["content-type"] == "application/json"
    log = two.call("GET", "/api/v1/webhook").json()["result"]["deliveries"]
    assert log[0]["statusCode"] == 200 and log[0]["referenceId"] == ref


def test_another_tenants_reference_is_404_on_every_new_route(one: Tenant, two: Tenant) -> None:
    ref = one.call("GET", "/api/v1/imports", params={"limit": "1"}).json()["result"]["imports"][0]["referenceId"]
    for action in ("approve", "discard", "abort"):
        answer = two.call("POST", f"/api/v1/imports/{ref}/{action}")
        assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND", action
    assert ref not in [i["referenceId"] for i in two.call("GET", "/api/v1/imports").json()["result"]["imports"]]


def run_roster(stack: RunningStack, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ROSTER_", "AWS_", "XDG_"))},
        "HOME": str(tmp_path),
        "ROSTER_API_URL": stack.base_url,
        "ROSTER_CLIENT_ID": "tenant-one",
        "ROSTER_CLIENT_SECRET": TENANTS["tenant-one"],
        "ROSTER_CACHE_DIR": str(tmp_path / "cache"),
    }
    roster = Path(sys.executable).parent / "roster"
    return subprocess.run(
        [str(roster), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_roster_waits_into_held_with_exit_6_then_lists_and_discards(
    sync_stack: RunningStack, one: Tenant, tmp_path: Path
) -> None:
    (tmp_path / "groups.csv").write_bytes(groups("fourth"))
    # When an upload waits into HELD, then exit code 6
    held = run_roster(sync_stack, tmp_path, "upload", "groups.csv", "--change-threshold", "25", "--wait", "--json")
    assert held.returncode == 6, held.stderr
    ref = json.loads(held.stdout)["referenceId"]
    # And it is listed under HELD, discarded with exit 0, and a second discard is rejected (exit 4)
    listed = run_roster(sync_stack, tmp_path, "imports", "--status", "HELD", "--json")
    assert listed.returncode == 0 and [job["referenceId"] for job in json.loads(listed.stdout)] == [ref]
    assert run_roster(sync_stack, tmp_path, "discard", ref).returncode == 0
    assert run_roster(sync_stack, tmp_path, "discard", ref).returncode == 4
    assert run_roster(sync_stack, tmp_path, "status", ref).returncode == 3  # DISCARDED: nothing written


def test_roster_webhook_set_show_delete(sync_stack: RunningStack, tmp_path: Path) -> None:
    with receiver() as app:
        added = run_roster(sync_stack, tmp_path, "webhook", "set", app.url)
        assert added.returncode == 0 and "whsec_" in added.stdout
        shown = run_roster(sync_stack, tmp_path, "webhook", "show")
        assert shown.returncode == 0 and app.url in shown.stdout and "whsec_" not in shown.stdout
        assert run_roster(sync_stack, tmp_path, "webhook", "delete").returncode == 0
        assert run_roster(sync_stack, tmp_path, "webhook", "show").returncode == 4  # 404: none
