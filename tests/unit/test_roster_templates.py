"""Header detection and file-level rejections; the code table stays in sync with its docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lambdas.common import errors
from lambdas.importer import planning
from lambdas.roster import templates
from lambdas.roster.codes import CATALOGUE, Code
from lambdas.roster.contract import FileRejected, Issue
from lambdas.roster.planner import Planner

USERS = (
    "user_username,user_name,user_password,user_email,user_language,user_active,user_role,user_organizationId,"
    "user_externalId,user_metadata_grade"
)
GROUPS = "group_name,group_description,group_active,group_organizationId,group_metadata_level"
ORGANIZATIONS = (
    "hierarchy_organizationId,hierarchy_organizationName,hierarchy_organizationDescription,"
    "hierarchy_parentOrganizationId"
)
LINK_NEW = (
    "user_username,user_name,user_password,user_email,user_language,user_active,group_role,group_name,"
    "user_organizationId"
)
LINK_EXISTING = "user_username,group_name,group_role"
SESSION_COLUMNS = (
    "group_name,group_description,group_active,session_name,session_timezone,session_startDate,session_endDate,"
    "session_submissionDate,session_waitingPageDate,session_securitySettings,session_reviewSettings,"
    "session_testRunnerAccessibilityPlugins,session_testRunnerSessionPlugins,session_reportSettings,"
    "session_readAloud,group_organizationId"
)


def rejection(header: str) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        Planner.start(header.split(","))
    return caught.value


@pytest.mark.parametrize(
    ("header", "template"),
    [
        (USERS, "users"),
        (GROUPS, "groups"),
        (ORGANIZATIONS, "organizations"),
        (LINK_NEW, "link-new-user-to-groups"),
        (LINK_EXISTING, "link-existing-user-to-groups"),
        ("session_deliveryId," + SESSION_COLUMNS, "sessions"),
        ("session_batteryId," + SESSION_COLUMNS, "sessions"),
    ],
)
def test_each_tao_template_header_is_detected(header: str, template: str) -> None:
    # Given the header of a public TAO template
    # When planning starts
    planner = Planner.start(header.split(","))
    # Then the template is recognised and no column is unknown
    assert planner.template == template
    assert planner.warnings == []


def test_detection_ignores_column_order() -> None:
    # Given the users columns in another order
    header = list(reversed(USERS.split(",")))
    # When planning starts
    planner = Planner.start(header)
    # Then it is still the users template
    assert planner.template == "users"


def test_username_with_group_role_only_is_link_existing() -> None:
    # Given user_username with group columns and no other user column
    # When planning starts
    planner = Planner.start(["group_role", "user_username", "group_name"])
    # Then it is link-existing, not link-new
    assert planner.template == "link-existing-user-to-groups"


def test_user_password_with_group_columns_is_link_new() -> None:
    # Given user_username, user_password and the group columns
    # When planning starts
    planner = Planner.start(["user_username", "user_password", "group_name", "group_role"])
    # Then it is link-new (a user column beyond the username)
    assert planner.template == "link-new-user-to-groups"


def test_unknown_header_is_rejected_unknown_template() -> None:
    # Given a header of no template family
    # When planning starts
    rejected = rejection("first_name,last_name")
    # Then the file is rejected on row 1 with UNKNOWN_TEMPLATE
    assert (rejected.issue.row, rejected.issue.code) == (1, Code.UNKNOWN_TEMPLATE)


def test_both_session_keys_are_rejected() -> None:
    # Given a sessions header with both a delivery and a battery id
    # When planning starts
    rejected = rejection("session_deliveryId,session_batteryId,group_name,session_name")
    # Then the file is rejected
    assert rejected.issue.code == Code.UNKNOWN_TEMPLATE


def test_sessions_header_without_key_is_missing_column() -> None:
    # Given session columns without session_deliveryId or session_batteryId
    # When planning starts
    rejected = rejection("group_name,session_name")
    # Then the missing key column is reported
    assert rejected.issue.code == Code.MISSING_COLUMN


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("user_name,user_email", "user_username"),
        ("group_description,group_active", "group_name"),
        ("hierarchy_organizationName", "hierarchy_organizationId"),
        ("hierarchy_organizationId,hierarchy_parentOrganizationId", "hierarchy_organizationName"),
        ("user_username,user_password,group_name", "group_role"),
        ("user_username,group_role", "group_name"),
        ("session_deliveryId,session_name", "group_name"),
        ("session_deliveryId,group_name", "session_name"),
    ],
)
def test_missing_mandatory_column_rejects_the_file(header: str, missing: str) -> None:
    # Given a header lacking a column its template requires
    # When planning starts
    rejected = rejection(header)
    # Then MISSING_COLUMN names that column
    assert (rejected.issue.code, rejected.issue.column) == (Code.MISSING_COLUMN, missing)


def test_repeated_header_column_is_a_warning_not_a_file_error() -> None:
    # Given a header naming a column twice
    # When planning starts
    planner = Planner.start(["user_username", "user_name", "user_name"])
    # Then the file is accepted, with a DUPLICATE_COLUMN warning on the header naming the repeat
    assert planner.template == "users"
    assert [(w.row, w.column, w.code) for w in planner.warnings] == [(1, "user_name", Code.DUPLICATE_COLUMN)]


@pytest.mark.parametrize("header", [[], [""], ["", " "]])
def test_empty_header_rejects_the_file(header: list[str]) -> None:
    # Given a header without any column name
    # When planning starts
    with pytest.raises(FileRejected) as caught:
        Planner.start(header)
    # Then EMPTY_HEADER
    assert caught.value.issue.code == Code.EMPTY_HEADER


def test_unknown_column_is_a_row_1_warning_and_ignored() -> None:
    # Given a users header with a column the template does not know
    planner = Planner.start(["user_username", "nickname"])
    # When a row is checked
    planned = planner.check(2, ["u1", "Bob"])
    # Then the column is a warning on row 1 and not part of the row's values
    assert [(w.row, w.column, w.code) for w in planner.warnings] == [(1, "nickname", Code.UNKNOWN_COLUMN)]
    assert planned.values == {"user_username": "u1"}  # type: ignore[union-attr]


def test_metadata_columns_with_any_suffix_are_known() -> None:
    # Given users and groups metadata columns
    # When planning starts
    users = Planner.start(["user_username", "user_metadata_shoe_size"])
    groups = Planner.start(["group_name", "group_metadata_x"])
    # Then they are not unknown
    assert users.warnings == [] and groups.warnings == []


def test_bare_metadata_prefix_is_unknown() -> None:
    # Given a metadata column without a key
    # When planning starts
    planner = Planner.start(["user_username", "user_metadata_"])
    # Then it is an unknown column
    assert [w.code for w in planner.warnings] == [Code.UNKNOWN_COLUMN]


def test_error_codes_doc_matches_the_codes_module() -> None:
    # Given the docs table and the codes module
    doc = (Path(__file__).resolve().parents[2] / "docs" / "IMPORT_ERRORS.md").read_text()
    table = re.search(r"<!-- codes:start -->\n(.*?)<!-- codes:end -->", doc, re.S)
    # When the table is compared with the generated one
    # Then they are identical and every code is catalogued
    assert table is not None
    assert table.group(1) == render_markdown_table()
    assert set(CATALOGUE) == set(Code)


def render_markdown_table() -> str:
    """The code table of ``docs/IMPORT_ERRORS.md``, generated from ``CATALOGUE``."""
    lines = ["| code | level | severity | meaning |", "|---|---|---|---|"]
    lines += [f"| `{code}` | {e.level} | {e.severity} | {e.meaning} |" for code, e in CATALOGUE.items()]
    return "\n".join(lines) + "\n"


def test_every_code_an_import_can_report_is_catalogued() -> None:
    # The importer's own file-level codes, and the upload checks it repeats on a presigned file
    reported = {planning.INVALID_ENCODING, planning.MALFORMED_CSV, planning.MISSING_HEADER}
    reported |= {errors.EmptyFile.code, errors.FileTooLarge.code, errors.InvalidFileType.code}
    assert reported <= {code.value for code in CATALOGUE}


# -- the group columns of a sessions file are the groups template's own ----------------------------
SESSION_GROUP_COLUMNS = ("group_name", "group_description", "group_active", "group_organizationId")


@pytest.mark.parametrize("sessions", [templates.SESSIONS_DELIVERY, templates.SESSIONS_BATTERY])
@pytest.mark.parametrize("name", SESSION_GROUP_COLUMNS)
def test_sessions_templates_hold_the_groups_templates_own_group_columns(
    sessions: templates.Template, name: str
) -> None:
    # Given the groups template and a sessions template
    # When both are asked for a group column
    # Then they answer the very same column (one rule, one place)
    assert sessions.column(name) is templates.GROUPS.column(name)


def test_group_metadata_columns_are_known_to_a_sessions_file() -> None:
    # Given a sessions header carrying a group metadata column
    planner = Planner.start(["session_deliveryId", "group_name", "session_name", "group_metadata_room"])
    # When a row is checked
    planned = planner.check(2, ["d1", "G", "S", "12"])
    # Then the column is known (no warning) and reaches the row's values
    assert planner.warnings == []
    assert planned.values["group_metadata_room"] == "12"  # type: ignore[union-attr]


@pytest.mark.parametrize(("cell", "code"), [("maybe", Code.INVALID_BOOLEAN), ("1", Code.BOOLEAN_AS_NUMBER)])
def test_group_active_of_a_sessions_row_gets_the_groups_templates_answer(cell: str, code: Code) -> None:
    # Given the same group_active cell in a groups file and in a sessions file
    groups = Planner.start(["group_name", "group_active"]).check(2, ["G", cell])
    sessions = Planner.start(["session_deliveryId", "group_name", "session_name", "group_active"]).check(
        2, ["d1", "G", "S", cell]
    )
    # When both are checked
    # Then both answer the same code on group_active (an error, or a warning on a planned row)
    answers = [
        (found.code, found.column) if isinstance(found, Issue) else (found.warnings[0].code, found.warnings[0].column)
        for found in (groups, sessions)
    ]
    assert answers == [(code, "group_active")] * 2


@pytest.mark.parametrize(
    ("values", "carries"),
    [
        ({"group_name": "G"}, False),
        ({"group_name": "G", "session_name": "S", "session_deliveryId": "d1"}, False),
        ({"group_name": "G", "group_description": ""}, True),
        ({"group_name": "G", "group_active": "TRUE"}, True),
        ({"group_name": "G", "group_organizationId": "root"}, True),
        ({"group_name": "G", "group_metadata_room": "12"}, True),
    ],
)
def test_a_row_carries_group_fields_when_it_has_a_groups_column_beyond_the_name(
    values: dict[str, str], carries: bool
) -> None:
    # Given a sessions row's values
    # When asked whether it carries group fields beyond group_name
    # Then only a groups-template column other than group_name counts (even with a blank cell)
    assert templates.carries_group_fields(values) is carries
