"""apply_rows against a moto DynamoDB roster table: stateful rules, writes, dry runs, batching."""

from __future__ import annotations

import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.roster.apply import apply_rows
from lambdas.roster.codes import Code
from lambdas.roster.store import Entity, RosterStore
from tests.roster_fixtures import (
    FAST_HASHER,
    STRONG,
    TABLE,
    CallCounter,
    csv_text,
    outcomes,
    planned,
    run,
    scan,
)

USERS = "user_username,user_name,user_password,user_email,user_active"
ORGS = "hierarchy_organizationId,hierarchy_organizationName,hierarchy_parentOrganizationId"
SESSIONS = "session_deliveryId,group_name,session_name,session_startDate,session_endDate"


@pytest.fixture
def store(resource: Any) -> RosterStore:
    return RosterStore(TABLE, resource=resource)


def stored(store: RosterStore, entity: Entity, key: str, tenant: str = "tenant-a") -> dict[str, Any] | None:
    return store.get_many(tenant, [(entity, key)]).get((entity, key))


# -- users ------------------------------------------------------------------------------------
def test_new_user_is_created_with_typed_fields(store: RosterStore) -> None:
    # Given a new user row
    # When it is applied
    result = run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,FALSE"))
    # Then it is created with the file's values
    assert outcomes(result) == [("created", None)]
    user = stored(store, Entity.USER, "u1")
    assert user is not None
    assert (user["user_name"], user["user_email"], user["user_active"]) == ("User One", "u1@example.com", False)


def test_new_user_without_password_fails_missing_mandatory_field(store: RosterStore) -> None:
    # Given a new user with a blank password
    # When it is applied
    result = run(store, csv_text(USERS, "u1,User One,,u1@example.com,TRUE"))
    # Then the row fails on user_password and nothing is stored
    assert outcomes(result) == [("failed", Code.MISSING_MANDATORY_FIELD)]
    assert result[0].issue is not None and result[0].issue.column == "user_password"
    assert stored(store, Entity.USER, "u1") is None


def test_new_user_without_password_column_fails(store: RosterStore) -> None:
    result = run(store, csv_text("user_username,user_name", "u1,User One"))
    assert outcomes(result) == [("failed", Code.MISSING_MANDATORY_FIELD)]


def test_user_active_defaults_to_true_on_create(store: RosterStore) -> None:
    run(store, csv_text("user_username,user_password", f"u1,{STRONG}"))
    user = stored(store, Entity.USER, "u1")
    assert user is not None and user["user_active"] is True


def test_update_blank_cell_clears_and_absent_column_keeps(store: RosterStore) -> None:
    # Given a stored user with a name and an email
    run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE"))
    # When a file with a blank email and no user_name column is applied
    result = run(store, csv_text("user_username,user_email", "u1,"))
    # Then the user is updated: the email cleared, the name kept
    assert outcomes(result) == [("updated", None)]
    user = stored(store, Entity.USER, "u1")
    assert user is not None and "user_email" not in user and user["user_name"] == "User One"


def test_update_without_password_keeps_the_hash(store: RosterStore) -> None:
    run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE"))
    before = stored(store, Entity.USER, "u1")
    run(store, csv_text("user_username,user_name", "u1,Renamed"))
    after = stored(store, Entity.USER, "u1")
    assert before is not None and after is not None
    assert after["user_passwordHash"] == before["user_passwordHash"] and after["user_name"] == "Renamed"


def test_update_with_blank_password_keeps_the_hash(store: RosterStore) -> None:
    # Given a user with a password
    run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE"))
    before = stored(store, Entity.USER, "u1")
    # When an export with an empty password column updates the user
    result = run(store, csv_text("user_username,user_name,user_password", "u1,Renamed,"))
    # Then the password hash is unchanged and the update applied
    after = stored(store, Entity.USER, "u1")
    assert outcomes(result) == [("updated", None)]
    assert before is not None and after is not None
    assert after["user_passwordHash"] == before["user_passwordHash"]


def test_update_with_blank_mandatory_field_fails(store: RosterStore) -> None:
    # Given a tenant with an organization and a user in it
    run(store, csv_text(ORGS, "o1,One,"))
    run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},o1"))
    # When the user's organization is blanked
    result = run(store, csv_text("user_username,user_organizationId", "u1,"))
    # Then the row fails and the stored organization stays
    assert outcomes(result) == [("failed", Code.MISSING_MANDATORY_FIELD)]
    user = stored(store, Entity.USER, "u1")
    assert user is not None and user["user_organizationId"] == "o1"


def test_same_values_again_are_unchanged(store: RosterStore) -> None:
    # Given a stored user
    text = csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE")
    run(store, text)
    # When the same row is applied again (same password too)
    result = run(store, text)
    # Then it is unchanged
    assert outcomes(result) == [("unchanged", None)]


def test_key_is_immutable_an_update_never_creates_a_second_user(store: RosterStore, resource: Any) -> None:
    # Given a stored user
    run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE"))
    # When it is updated by its key
    run(store, csv_text("user_username,user_name", "u1,Other"))
    # Then there is still exactly one user item, under the same key
    users = [item for item in scan(resource) if item["pk"] == "tenant-a#USER"]
    assert [(item["sk"], item["user_username"]) for item in users] == [("u1", "u1")]


def test_new_password_on_update_is_rehashed(store: RosterStore) -> None:
    run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE"))
    result = run(store, csv_text("user_username,user_password", "u1,Another-Pass2"))
    user = stored(store, Entity.USER, "u1")
    assert outcomes(result) == [("updated", None)]
    assert user is not None and FAST_HASHER.verify("Another-Pass2", user["user_passwordHash"])


def test_password_is_stored_only_as_scrypt_hash(store: RosterStore, resource: Any) -> None:
    # Given users created with a password
    result = run(store, csv_text(USERS, f"u1,User One,{STRONG},u1@example.com,TRUE", f"u2,User Two,{STRONG},,TRUE"))
    # When the whole table is scanned
    dump = repr(scan(resource)) + repr(result)
    # Then the plain password appears nowhere, and each user holds a scrypt hash that verifies
    assert STRONG not in dump
    user = stored(store, Entity.USER, "u1")
    assert user is not None and user["user_passwordHash"].startswith("scrypt$4$8$1$")
    assert FAST_HASHER.verify(STRONG, user["user_passwordHash"])


def test_unknown_organization_fails(store: RosterStore) -> None:
    result = run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},nowhere"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_ORGANIZATION)]


def test_root_organization_is_accepted(store: RosterStore) -> None:
    result = run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},root"))
    assert outcomes(result) == [("created", None)]


def test_organization_is_optional_while_tenant_has_none(store: RosterStore) -> None:
    result = run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},"))
    assert outcomes(result) == [("created", None)]


def test_organization_is_mandatory_once_tenant_has_organizations(store: RosterStore) -> None:
    # Given a tenant with an organization
    run(store, csv_text(ORGS, "o1,One,"))
    # When users are created with a blank organization, without the column, and with o1
    blank = run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},"))
    absent = run(store, csv_text("user_username,user_password", f"u2,{STRONG}"))
    given = run(store, csv_text("user_username,user_password,user_organizationId", f"u3,{STRONG},o1"))
    # Then the first two fail and the last is created
    assert outcomes(blank + absent + given) == [
        ("failed", Code.MISSING_MANDATORY_FIELD),
        ("failed", Code.MISSING_MANDATORY_FIELD),
        ("created", None),
    ]


# -- groups -----------------------------------------------------------------------------------
def test_group_is_created_then_updated(store: RosterStore) -> None:
    created = run(store, csv_text("group_name,group_description,group_active,group_metadata_level", "G,Desc,1,5"))
    updated = run(store, csv_text("group_name,group_description", "G,Other"))
    group = stored(store, Entity.GROUP, "G")
    assert outcomes(created + updated) == [("created", None), ("updated", None)]
    assert created[0].warnings[0].code == Code.BOOLEAN_AS_NUMBER
    assert group is not None
    assert (group["group_description"], group["group_active"], group["group_metadata_level"]) == ("Other", True, "5")


# -- organizations ----------------------------------------------------------------------------
def test_parent_on_an_earlier_row_is_accepted(store: RosterStore) -> None:
    # Given a parent and its child in one file
    # When it is applied
    result = run(store, csv_text(ORGS, "o1,One,", "o2,Two,o1"))
    # Then both are created, the child under the parent
    assert outcomes(result) == [("created", None), ("created", None)]
    child = stored(store, Entity.ORG, "o2")
    assert child is not None and child["hierarchy_parentOrganizationId"] == "o1"


def test_unknown_parent_fails(store: RosterStore) -> None:
    result = run(store, csv_text(ORGS, "o2,Two,o1"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_ORGANIZATION)]


def test_parent_on_a_later_row_fails(store: RosterStore) -> None:
    result = run(store, csv_text(ORGS, "o2,Two,o1", "o1,One,"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_ORGANIZATION), ("created", None)]


def test_fifteen_levels_are_accepted_and_the_sixteenth_rejected(store: RosterStore) -> None:
    # Given a chain of 16 organizations, each under the previous one
    lines = ["o1,L1,root"] + [f"o{i},L{i},o{i - 1}" for i in range(2, 17)]
    # When it is applied
    result = run(store, csv_text(ORGS, *lines))
    # Then levels 1..15 are created and level 16 is too deep
    assert outcomes(result) == [("created", None)] * 15 + [("failed", Code.HIERARCHY_TOO_DEEP)]


def test_reparenting_that_deepens_a_subtree_beyond_15_is_rejected(store: RosterStore) -> None:
    # Given a chain of 10 levels and a separate chain of 6 levels
    run(store, csv_text(ORGS, "a1,A1,", *[f"a{i},A{i},a{i - 1}" for i in range(2, 11)]))
    run(store, csv_text(ORGS, "b1,B1,", *[f"b{i},B{i},b{i - 1}" for i in range(2, 7)]))
    # When the top of the second chain moves under the bottom of the first (10 + 6 = 16 levels)
    result = run(store, csv_text(ORGS, "b1,B1,a10"))
    # Then the move is rejected
    assert outcomes(result) == [("failed", Code.HIERARCHY_TOO_DEEP)]


def test_reparenting_under_a_descendant_is_a_cycle(store: RosterStore) -> None:
    # Given o1 > o2 > o3
    run(store, csv_text(ORGS, "o1,One,", "o2,Two,o1", "o3,Three,o2"))
    # When o1 is moved under o3
    result = run(store, csv_text(ORGS, "o1,One,o3"))
    # Then HIERARCHY_CYCLE and o1 stays top level
    assert outcomes(result) == [("failed", Code.HIERARCHY_CYCLE)]
    top = stored(store, Entity.ORG, "o1")
    assert top is not None and "hierarchy_parentOrganizationId" not in top


def test_generated_organization_id_is_stored(store: RosterStore) -> None:
    result = run(store, csv_text(ORGS, ",Generated,"))
    assert outcomes(result) == [("created", None)]
    assert stored(store, Entity.ORG, result[0].key) is not None


# -- link-existing ----------------------------------------------------------------------------
def test_link_existing_creates_membership(store: RosterStore) -> None:
    run(store, csv_text("user_username,user_password", f"u1,{STRONG}"))
    run(store, csv_text("group_name", "G"))
    result = run(store, csv_text("user_username,group_name,group_role", "u1,G,grader"))
    membership = stored(store, Entity.MEMBERSHIP, "u1#G")
    assert outcomes(result) == [("created", None)]
    assert membership is not None and membership["group_role"] == "GRADER"


def test_link_existing_with_unknown_user_fails(store: RosterStore) -> None:
    run(store, csv_text("group_name", "G"))
    result = run(store, csv_text("user_username,group_name,group_role", "ghost,G,GRADER"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_USER)]


def test_link_existing_with_unknown_group_fails(store: RosterStore) -> None:
    run(store, csv_text("user_username,user_password", f"u1,{STRONG}"))
    result = run(store, csv_text("user_username,group_name,group_role", "u1,Nope,GRADER"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_GROUP)]
    assert stored(store, Entity.MEMBERSHIP, "u1#Nope") is None


def test_link_existing_role_change_updates_the_one_membership(store: RosterStore, resource: Any) -> None:
    run(store, csv_text("user_username,user_password", f"u1,{STRONG}"))
    run(store, csv_text("group_name", "G"))
    run(store, csv_text("user_username,group_name,group_role", "u1,G,GRADER"))
    result = run(store, csv_text("user_username,group_name,group_role", "u1,G,TEST_TAKER"))
    memberships = [item for item in scan(resource) if item["pk"] == "tenant-a#MEMBERSHIP"]
    assert outcomes(result) == [("updated", None)]
    assert [m["group_role"] for m in memberships] == ["TEST_TAKER"]


# -- link-new ---------------------------------------------------------------------------------
LINK_NEW = "user_username,user_name,user_password,group_role,group_name"


def test_link_new_creates_user_and_membership(store: RosterStore) -> None:
    # Given an existing group
    run(store, csv_text("group_name", "G"))
    # When a new user is linked to it
    result = run(store, csv_text(LINK_NEW, f"u1,User One,{STRONG},TEST_TAKER,G"))
    # Then the user and the membership exist
    assert outcomes(result) == [("created", None)]
    assert stored(store, Entity.USER, "u1") is not None
    membership = stored(store, Entity.MEMBERSHIP, "u1#G")
    assert membership is not None and membership["group_role"] == "TEST_TAKER"


def test_link_new_to_a_missing_group_fails_and_creates_no_user(store: RosterStore) -> None:
    result = run(store, csv_text(LINK_NEW, f"u1,User One,{STRONG},TEST_TAKER,G"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_GROUP)]
    assert stored(store, Entity.USER, "u1") is None


def test_link_new_user_in_two_groups_is_created_once(store: RosterStore, resource: Any) -> None:
    run(store, csv_text("group_name", "G1", "G2"))
    result = run(store, csv_text(LINK_NEW, f"u1,User One,{STRONG},TEST_TAKER,G1", f"u1,User One,{STRONG},GRADER,G2"))
    users = [item for item in scan(resource) if item["pk"] == "tenant-a#USER"]
    assert outcomes(result) == [("created", None), ("created", None)]
    assert len(users) == 1 and FAST_HASHER.verify(STRONG, users[0]["user_passwordHash"])


def test_link_new_without_password_for_a_new_user_fails(store: RosterStore) -> None:
    run(store, csv_text("group_name", "G"))
    result = run(store, csv_text("user_username,user_name,group_role,group_name", "u1,User One,GRADER,G"))
    assert outcomes(result) == [("failed", Code.MISSING_MANDATORY_FIELD)]


# -- sessions ---------------------------------------------------------------------------------
def test_session_in_existing_group_is_created_under_its_name(store: RosterStore) -> None:
    run(store, csv_text("group_name", "G"))
    result = run(store, csv_text(SESSIONS, "d1,G,Session,2024-1-1T08:00:00Z,2024-01-01T10:00:00Z"))
    session = stored(store, Entity.SESSION, "Session")
    assert outcomes(result) == [("created", None)]
    assert session is not None and session["session_startDate"] == "2024-01-01T08:00:00Z"
    assert session["session_deliveryId"] == "d1"


def test_two_sessions_on_one_delivery_are_both_created(store: RosterStore) -> None:
    # Given a group
    run(store, csv_text("group_name", "G"))
    # When one file carries two sessions on the same delivery
    result = run(store, csv_text(SESSIONS, "d1,G,Morning,,", "d1,G,Afternoon,,"))
    # Then both are created, each with that delivery
    assert outcomes(result) == [("created", None), ("created", None)]
    for name in ("Morning", "Afternoon"):
        session = stored(store, Entity.SESSION, name)
        assert session is not None and session["session_deliveryId"] == "d1"


def test_a_later_file_moves_a_session_to_another_delivery(store: RosterStore) -> None:
    # Given sessions Morning and Afternoon on delivery d1
    run(store, csv_text("group_name", "G"))
    run(store, csv_text(SESSIONS, "d1,G,Morning,,", "d1,G,Afternoon,,"))
    # When a later file names d2 for Afternoon
    result = run(store, csv_text(SESSIONS, "d2,G,Afternoon,,"))
    # Then Afternoon is updated to d2 and Morning keeps d1
    assert outcomes(result) == [("updated", None)]
    assert stored(store, Entity.SESSION, "Afternoon")["session_deliveryId"] == "d2"  # type: ignore[index]
    assert stored(store, Entity.SESSION, "Morning")["session_deliveryId"] == "d1"  # type: ignore[index]


def test_a_battery_row_replaces_a_sessions_delivery(store: RosterStore) -> None:
    # Given a session on a delivery
    run(store, csv_text("group_name", "G"))
    run(store, csv_text(SESSIONS, "d1,G,S,,"))
    # When a battery file names the same session
    result = run(store, csv_text("session_batteryId,group_name,session_name", "b1,G,S"))
    # Then the session is one, now on the battery only
    assert outcomes(result) == [("updated", None)]
    session = stored(store, Entity.SESSION, "S")
    assert session is not None and session["session_batteryId"] == "b1" and "session_deliveryId" not in session


def test_moving_a_session_to_another_group_fails(store: RosterStore) -> None:
    # Given a session in group G
    run(store, csv_text("group_name", "G", "H"))
    run(store, csv_text(SESSIONS, "d1,G,Session,,"))
    # When a row puts it in group H (even with another delivery)
    result = run(store, csv_text(SESSIONS, "d2,H,Session,,"))
    # Then SESSION_GROUP_CHANGE and the session stays in G, on d1
    assert outcomes(result) == [("failed", Code.SESSION_GROUP_CHANGE)]
    session = stored(store, Entity.SESSION, "Session")
    assert session is not None and (session["group_name"], session["session_deliveryId"]) == ("G", "d1")


def test_session_in_missing_group_without_group_columns_fails(store: RosterStore) -> None:
    result = run(store, csv_text(SESSIONS, "d1,New,Session,,"))
    assert outcomes(result) == [("failed", Code.UNKNOWN_GROUP)]
    assert stored(store, Entity.GROUP, "New") is None


def test_session_with_group_columns_creates_the_missing_group(store: RosterStore) -> None:
    # Given a sessions file carrying group_description and group_active
    text = csv_text(
        "session_deliveryId,group_name,group_description,group_active,session_name", "d1,New,Grade 10,TRUE,S"
    )
    # When it is applied
    result = run(store, text)
    # Then the group and the session are created
    assert outcomes(result) == [("created", None)]
    group = stored(store, Entity.GROUP, "New")
    assert group is not None and group["group_description"] == "Grade 10"


# -- sessions naming an existing group: its group columns update it as the groups template would --
GROUP_SESSIONS = "session_deliveryId,group_name,group_description,session_name"


def test_session_row_updates_its_existing_groups_description(store: RosterStore) -> None:
    # Given a stored group with a description
    run(store, csv_text("group_name,group_description,group_active", "G,Old,FALSE"))
    # When a sessions row names it with another description
    result = run(store, csv_text(GROUP_SESSIONS, "d1,G,New,S"))
    # Then the row creates the session (counted once) and the group takes the new description,
    # keeping its absent group_active, at the next version
    assert outcomes(result) == [("created", None)]
    group = stored(store, Entity.GROUP, "G")
    assert group is not None
    assert (group["group_description"], group["group_active"], group["version"]) == ("New", False, 2)
    session = stored(store, Entity.SESSION, "S")
    assert session is not None and "group_description" not in session


def test_unchanged_session_whose_group_changed_counts_updated(store: RosterStore) -> None:
    # Given a session in group G, both stored
    run(store, csv_text("group_name,group_description", "G,Old"))
    run(store, csv_text(GROUP_SESSIONS, "d1,G,Old,S"))
    # When the same session row comes again with a new group description
    result = run(store, csv_text(GROUP_SESSIONS, "d1,G,New,S"))
    # Then the row changed something: updated; applied once more it is unchanged
    assert outcomes(result) == [("updated", None)]
    assert stored(store, Entity.GROUP, "G")["group_description"] == "New"  # type: ignore[index]
    assert outcomes(run(store, csv_text(GROUP_SESSIONS, "d1,G,New,S"))) == [("unchanged", None)]


def test_session_row_with_the_groups_values_leaves_the_group_unwritten(store: RosterStore) -> None:
    # Given a stored group
    run(store, csv_text("group_name,group_description", "G,Same"))
    # When a sessions row names it with the values it has
    result = run(store, csv_text(GROUP_SESSIONS, "d1,G,Same,S"))
    # Then the session is created and the group is not written again
    assert outcomes(result) == [("created", None)]
    assert stored(store, Entity.GROUP, "G")["version"] == 1  # type: ignore[index]


def test_blank_group_cells_of_a_session_row_clear_the_groups_fields(store: RosterStore) -> None:
    # Given a stored inactive group with a description
    run(store, csv_text("group_name,group_description,group_active", "G,Old,FALSE"))
    # When a sessions row names it with blank group_description and group_active
    header = "session_deliveryId,group_name,group_description,group_active,session_name"
    result = run(store, csv_text(header, "d1,G,,,S"))
    # Then the description is cleared and group_active is its default TRUE (as a groups file does)
    assert outcomes(result) == [("created", None)]
    group = stored(store, Entity.GROUP, "G")
    assert group is not None and "group_description" not in group and group["group_active"] is True


def test_session_row_updates_its_groups_organization_and_metadata(store: RosterStore) -> None:
    # Given an organization and a group at the top of the hierarchy
    run(store, csv_text(ORGS, "school,School,"))
    run(store, csv_text("group_name,group_organizationId", "G,root"))
    # When a sessions row names the group with an organization and a metadata column
    header = "session_deliveryId,group_name,session_name,group_organizationId,group_metadata_room"
    result = run(store, csv_text(header, "d1,G,S,school,12"))
    # Then the group has both
    assert outcomes(result) == [("created", None)]
    group = stored(store, Entity.GROUP, "G")
    assert group is not None and (group["group_organizationId"], group["group_metadata_room"]) == ("school", "12")


def test_unknown_group_organization_fails_the_row_and_writes_nothing(store: RosterStore) -> None:
    # Given a stored group
    run(store, csv_text("group_name,group_description", "G,Old"))
    # When a sessions row names it with a new description and an organization that does not exist
    header = "session_deliveryId,group_name,group_description,session_name,group_organizationId"
    result = run(store, csv_text(header, "d1,G,New,S,nowhere"))
    # Then the row fails on group_organizationId: no session, the group as it was
    assert outcomes(result) == [("failed", Code.UNKNOWN_ORGANIZATION)]
    assert result[0].issue is not None and result[0].issue.column == "group_organizationId"
    assert stored(store, Entity.SESSION, "S") is None
    group = stored(store, Entity.GROUP, "G")
    assert group is not None and (group["group_description"], group["version"]) == ("Old", 1)


def test_blank_group_organization_once_the_tenant_has_organizations_fails(store: RosterStore) -> None:
    # Given a tenant with organizations and a group in one of them
    run(store, csv_text(ORGS, "school,School,"))
    run(store, csv_text("group_name,group_organizationId", "G,school"))
    # When a sessions row blanks the group's organization
    result = run(store, csv_text("session_deliveryId,group_name,session_name,group_organizationId", "d1,G,S,"))
    # Then the mandatory field cannot be cleared: the row fails, nothing is written
    assert outcomes(result) == [("failed", Code.MISSING_MANDATORY_FIELD)]
    assert stored(store, Entity.SESSION, "S") is None
    assert stored(store, Entity.GROUP, "G")["group_organizationId"] == "school"  # type: ignore[index]


def test_a_failing_session_leaves_its_group_unchanged(store: RosterStore) -> None:
    # Given a session whose stored start is 2 January, in group G
    run(store, csv_text("group_name,group_description", "G,Old"))
    run(store, csv_text(SESSIONS, "d1,G,S,2024-01-02T00:00:00Z,2024-01-03T00:00:00Z"))
    # When a row changes the group's description and sets an end before the stored start
    header = "session_deliveryId,group_name,group_description,session_name,session_endDate"
    result = run(store, csv_text(header, "d1,G,New,S,2024-01-01T00:00:00Z"))
    # Then the row fails and its group change is not written either
    assert outcomes(result) == [("failed", Code.INVALID_DATE_RANGE)]
    assert stored(store, Entity.GROUP, "G")["group_description"] == "Old"  # type: ignore[index]


def test_dry_run_reports_the_group_update_and_writes_nothing(store: RosterStore, resource: Any) -> None:
    # Given a session in group G
    run(store, csv_text("group_name,group_description", "G,Old"))
    run(store, csv_text(GROUP_SESSIONS, "d1,G,Old,S"))
    before = scan(resource)
    # When a dry run names it with a new group description
    result = run(store, csv_text(GROUP_SESSIONS, "d1,G,New,S"), dry_run=True)
    # Then it would update, and the table is exactly as before
    assert outcomes(result) == [("updated", None)]
    assert scan(resource) == before


def test_group_organization_alone_creates_a_missing_group(store: RosterStore) -> None:
    # Given no group G
    # When a sessions file carries group_organizationId as its only group column beyond group_name
    result = run(store, csv_text("session_deliveryId,group_name,session_name,group_organizationId", "d1,G,S,root"))
    # Then the group is created with it (a group column beyond group_name), the row counted once
    assert outcomes(result) == [("created", None)]
    group = stored(store, Entity.GROUP, "G")
    assert group is not None and (group["group_organizationId"], group["group_active"]) == ("root", True)


def test_end_before_stored_start_fails_on_update(store: RosterStore) -> None:
    run(store, csv_text("group_name", "G"))
    run(store, csv_text(SESSIONS, "d1,G,S,2024-01-02T00:00:00Z,2024-01-03T00:00:00Z"))
    result = run(
        store, csv_text("session_deliveryId,group_name,session_name,session_endDate", "d1,G,S,2024-01-01T00:00:00Z")
    )
    assert outcomes(result) == [("failed", Code.INVALID_DATE_RANGE)]


# -- dry run, idempotency, tenants, batching --------------------------------------------------
MIXED = csv_text(
    "user_username,user_name,user_password,user_organizationId",
    f"new1,New,{STRONG},",
    f"old1,Same,{STRONG},",
    "old2,Renamed,,",
    f"bad,Bad,{STRONG},nowhere",
)


def seed_mixed(store: RosterStore) -> None:
    run(store, csv_text("user_username,user_name,user_password", f"old1,Same,{STRONG}", f"old2,Old,{STRONG}"))


def test_dry_run_writes_nothing(store: RosterStore, resource: Any) -> None:
    # Given a seeded roster
    seed_mixed(store)
    before = scan(resource)
    # When a mixed file is applied as a dry run
    run(store, MIXED, dry_run=True)
    # Then the table is exactly as before
    assert scan(resource) == before


def test_dry_run_predicts_the_real_run(store: RosterStore) -> None:
    # Given a seeded roster
    seed_mixed(store)
    # When the same file runs dry, then for real
    predicted = run(store, MIXED, dry_run=True)
    actual = run(store, MIXED)
    # Then the outcome lists are identical, and cover every kind
    assert predicted == actual
    assert [r.outcome for r in actual] == ["created", "unchanged", "updated", "failed"]


def test_reapplying_the_same_rows_leaves_the_same_state(store: RosterStore, resource: Any) -> None:
    # Given groups, and a link-new chunk applied once
    run(store, csv_text("group_name", "G1", "G2"))
    template, rows = planned(csv_text(LINK_NEW, f"u1,U,{STRONG},GRADER,G1", f"u2,V,{STRONG},TEST_TAKER,G2"))
    apply_rows(template, rows, tenant="tenant-a", store=store, dry_run=False, hasher=FAST_HASHER)
    first = scan(resource)
    # When the same chunk is applied again (redelivery)
    again = apply_rows(template, rows, tenant="tenant-a", store=store, dry_run=False, hasher=FAST_HASHER)
    # Then the stored state is identical (same hashes, no second membership) and the rows read unchanged
    assert scan(resource) == first
    assert [r.outcome for r in again] == ["unchanged", "unchanged"]


def test_reapplied_rows_report_their_first_outcome_with_import_id(store: RosterStore) -> None:
    # Given a chunk applied once under an import id
    template, rows = planned(csv_text(USERS, f"u1,U,{STRONG},,TRUE"))
    apply_rows(template, rows, tenant="tenant-a", store=store, dry_run=False, hasher=FAST_HASHER, import_id="ref-1")
    # When the same chunk of the same import is applied again, and then under another import
    again = apply_rows(
        template, rows, tenant="tenant-a", store=store, dry_run=False, hasher=FAST_HASHER, import_id="ref-1"
    )
    other = apply_rows(
        template, rows, tenant="tenant-a", store=store, dry_run=False, hasher=FAST_HASHER, import_id="ref-2"
    )
    # Then the redelivery reports created again, another import unchanged
    assert [r.outcome for r in again + other] == ["created", "unchanged"]


def test_tenants_do_not_see_each_other(store: RosterStore) -> None:
    # Given tenant A's organization, user and group
    run(store, csv_text(ORGS, "o1,One,"), tenant="tenant-a")
    run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},o1"), tenant="tenant-a")
    run(store, csv_text("group_name,group_organizationId", "G,o1"), tenant="tenant-a")
    # When tenant B refers to them
    org = run(store, csv_text("user_username,user_password,user_organizationId", f"u1,{STRONG},o1"), tenant="tenant-b")
    link = run(store, csv_text("user_username,group_name,group_role", "u1,G,GRADER"), tenant="tenant-b")
    # Then B sees neither A's organization nor A's user
    assert outcomes(org + link) == [("failed", Code.UNKNOWN_ORGANIZATION), ("failed", Code.UNKNOWN_USER)]


def test_new_users_cost_batched_requests(store: RosterStore, resource: Any) -> None:
    # Given 260 new users
    n = 260
    text = csv_text("user_username,user_name,user_password", *[f"user{i},User {i},{STRONG}" for i in range(n)])
    template, rows = planned(text)
    counter = CallCounter(resource)
    # When they are applied in one call
    result = apply_rows(template, rows, tenant="tenant-a", store=store, dry_run=False, hasher=FAST_HASHER)
    # Then ceil(n/100) BatchGetItem, ceil(n/100) conditional TransactWriteItems and one Limit=1 query
    assert [r.outcome for r in result] == ["created"] * n
    assert counter.calls == {"BatchGetItem": math.ceil(n / 100), "TransactWriteItems": math.ceil(n / 100), "Query": 1}


def test_cancelled_transactions_are_retried_with_backoff(resource: Any) -> None:
    # Given a table whose first TransactWriteItems is cancelled by a conflicting transaction
    calls = {"n": 0}

    def conflict_once(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
                },
                "TransactWriteItems",
            )

    resource.meta.client.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict_once)
    delays: list[float] = []
    store = RosterStore(TABLE, resource=resource, sleep=delays.append)
    # When users are applied
    result = run(store, csv_text("user_username,user_password", f"a,{STRONG}", f"b,{STRONG}", f"c,{STRONG}"))
    # Then the transaction was sent again after a pause and every user is stored
    assert [r.outcome for r in result] == ["created"] * 3
    assert calls["n"] == 2 and len(delays) == 1
    assert len([i for i in scan(resource) if i["pk"] == "tenant-a#USER"]) == 3
