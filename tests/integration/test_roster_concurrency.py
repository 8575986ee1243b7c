"""Two imports writing the same roster records at once, against moto: every write is conditional
on the version it read, so a conflict re-reads and re-applies the row and never overwrites.

Each test counts writer A's DynamoDB calls in a clean run, then for every position k lets writer B
apply completely just before A's k-th call (B between any two steps of A), and checks the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from lambdas.roster.apply import apply_rows
from lambdas.roster.codes import Code
from lambdas.roster.contract import RowOutcome
from lambdas.roster.store import Entity, RosterStore, Write
from tests.roster_fixtures import FAST_HASHER, REGION, TABLE, csv_text, outcomes, planned, run

TENANT = "tenant-a"
GROUPS = "group_name,group_description,group_active"
ORGS = "hierarchy_organizationId,hierarchy_organizationName,hierarchy_parentOrganizationId"
Writer = Callable[[RosterStore], list[RowOutcome]]


def writer(text: str) -> Writer:
    template, rows = planned(text)

    def apply(store: RosterStore) -> list[RowOutcome]:
        return apply_rows(template, rows, tenant=TENANT, store=store, dry_run=False, hasher=FAST_HASHER)

    return apply


def counted_store(hook: Callable[[int], None]) -> RosterStore:
    """A store on its own client whose every DynamoDB call first runs ``hook(call number)``."""
    resource = boto3.resource("dynamodb", region_name=REGION)
    seen = {"n": 0}

    def before_call(**_: Any) -> None:
        hook(seen["n"])
        seen["n"] += 1

    resource.meta.client.meta.events.register("before-call.dynamodb", before_call)
    return RosterStore(TABLE, resource=resource)


def calls_of(write: Writer) -> int:
    count = {"n": 0}

    def hook(n: int) -> None:
        count["n"] = n + 1

    write(counted_store(hook))
    return count["n"]


def interleave(resource: Any, a: Writer, b: Writer, at_call: int) -> tuple[list[RowOutcome], list[RowOutcome]]:
    """A applies; just before its ``at_call``-th DynamoDB call, B applies completely."""
    b_result: list[list[RowOutcome]] = []
    plain = RosterStore(TABLE, resource=resource)

    def hook(n: int) -> None:
        if n == at_call and not b_result:
            b_result.append(b(plain))

    a_result = a(counted_store(hook))
    if not b_result:
        b_result.append(b(plain))
    return a_result, b_result[0]


def groups(store: RosterStore) -> dict[str, dict[str, Any]]:
    return {str(item["sk"]): item for item in store.query_all(TENANT, Entity.GROUP)}


def reset(resource: Any) -> None:
    table = resource.Table(TABLE)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


# -- lost updates -------------------------------------------------------------------------------
def test_two_updates_of_the_same_groups_interleaved_at_every_step_both_take_effect(resource: Any) -> None:
    # Given 30 stored groups, one file changing their descriptions and one deactivating them
    names = [f"g{n:02d}" for n in range(30)]
    seed = writer(csv_text("group_name,group_description", *(f"{n},old" for n in names)))
    describe = writer(csv_text("group_name,group_description", *(f"{n},new" for n in names)))
    deactivate = writer(csv_text("group_name,group_active", *(f"{n},FALSE" for n in names)))
    store = RosterStore(TABLE, resource=resource)
    seed(store)
    steps = calls_of(describe)
    for k in range(steps + 1):
        reset(resource)
        seed(store)
        # When they are applied at once, the deactivation landing between any two steps of the other
        a_result, b_result = interleave(resource, describe, deactivate, at_call=k)
        # Then every group has both changes, and both imports count every row updated
        stored = groups(store)
        assert {(g["group_description"], g["group_active"]) for g in stored.values()} == {("new", False)}, k
        assert [r.outcome for r in a_result] == ["updated"] * 30, k
        assert [r.outcome for r in b_result] == ["updated"] * 30, k


def test_a_sessions_file_and_a_groups_file_interleaved_at_every_step_both_change_the_groups(resource: Any) -> None:
    # Given 10 stored groups, a sessions file describing them anew and a groups file deactivating them
    names = [f"g{n:02d}" for n in range(10)]
    seed = writer(csv_text("group_name,group_description", *(f"{n},old" for n in names)))
    header = "session_deliveryId,group_name,group_description,session_name"
    sessions = writer(csv_text(header, *(f"d1,{n},new,s-{n}" for n in names)))
    deactivate = writer(csv_text("group_name,group_active", *(f"{n},FALSE" for n in names)))
    store = RosterStore(TABLE, resource=resource)
    seed(store)
    steps = calls_of(sessions)
    for k in range(steps + 1):
        reset(resource)
        seed(store)
        # When they are applied at once, the groups file landing between any two steps of the sessions file
        a_result, b_result = interleave(resource, sessions, deactivate, at_call=k)
        # Then every group has both changes (each write conditional on the version it read),
        # every session exists, and each file counts every row once
        stored = groups(store)
        assert {(g["group_description"], g["group_active"]) for g in stored.values()} == {("new", False)}, k
        assert len(store.query_all(TENANT, Entity.SESSION)) == 10, k
        assert [r.outcome for r in a_result] == ["created"] * 10, k
        assert [r.outcome for r in b_result] == ["updated"] * 10, k


def test_a_stale_write_is_refused_by_the_store(resource: Any) -> None:
    # Given a group read at version 1 and then changed by another import (version 2)
    store = RosterStore(TABLE, resource=resource)
    writer(csv_text(GROUPS, "g1,one,TRUE"))(store)
    read = groups(store)["g1"]
    writer(csv_text(GROUPS, "g1,two,TRUE"))(store)
    # When a write based on the first read is attempted
    stale = {**read, "group_description": "lost", "version": int(read["version"]) + 1}
    conflicts = store.write_rows([[Write(stale, int(read["version"]))]])
    # Then it is refused and the newer value stays
    assert conflicts == {0}
    assert groups(store)["g1"]["group_description"] == "two"


# -- organization cycles ------------------------------------------------------------------------
def test_two_parent_changes_interleaved_at_every_step_never_store_a_cycle(resource: Any) -> None:
    # Given two top-level organizations A and B
    seed = writer(csv_text(ORGS, "A,Org A,", "B,Org B,"))
    a_under_b = writer(csv_text(ORGS, "A,Org A,B"))
    b_under_a = writer(csv_text(ORGS, "B,Org B,A"))
    store = RosterStore(TABLE, resource=resource)
    seed(store)
    steps = calls_of(a_under_b)
    for k in range(steps + 1):
        reset(resource)
        seed(store)
        # When one file puts A under B while the other puts B under A
        a_result, b_result = interleave(resource, a_under_b, b_under_a, at_call=k)
        # Then exactly one of them wins and the other row fails as a cycle
        parents = {str(i["sk"]): i.get("hierarchy_parentOrganizationId") for i in store.query_all(TENANT, Entity.ORG)}
        assert parents in ({"A": "B", "B": None}, {"A": None, "B": "A"}), (k, parents)
        results = sorted(outcomes(a_result) + outcomes(b_result))
        assert results == [("failed", Code.HIERARCHY_CYCLE), ("updated", None)], k


def test_a_stored_cycle_does_not_crash_an_import(resource: Any) -> None:
    # Given a cycle A -> B -> A already stored (written before parent changes were checked)
    table = resource.Table(TABLE)
    for org, parent in (("A", "B"), ("B", "A"), ("C", None)):
        item = {"pk": f"{TENANT}#ORG", "sk": org, "hierarchy_organizationName": org}
        if parent:
            item["hierarchy_parentOrganizationId"] = parent
        table.put_item(Item=item)
    store = RosterStore(TABLE, resource=resource)
    # When a file touches A, and moves C under A
    result = run(store, csv_text(ORGS, "A,Org A renamed,", "C,Org C,A"))
    # Then the import ends row by row instead of dying in a RecursionError: A leaves the cycle
    assert outcomes(result) == [("updated", None), ("updated", None)]
    parents = {str(i["sk"]): i.get("hierarchy_parentOrganizationId") for i in store.query_all(TENANT, Entity.ORG)}
    assert parents == {"A": None, "B": "A", "C": "A"}
