"""Stateless row checks of every template: cell counts, mandatory cells, formats, keys."""

from __future__ import annotations

import uuid

import pytest

from lambdas.roster import rules
from lambdas.roster.codes import Code
from lambdas.roster.contract import Issue, PlannedRow
from lambdas.roster.planner import Planner

USERS = ["user_username", "user_name", "user_password", "user_email", "user_language", "user_active", "user_role"]
GOOD_USER = ["u1", "User One", "Secret-Pass1", "u1@example.com", "en-US", "TRUE", "ADMIN|SUPPORT"]
SESSIONS = [
    "session_deliveryId",
    "group_name",
    "session_name",
    "session_timezone",
    "session_startDate",
    "session_endDate",
]
GOOD_SESSION = ["d1", "Group A", "Session 1", "Europe/Warsaw", "2024-01-01T08:00:00Z", "2024-01-01T10:00:00Z"]
ORGS = ["hierarchy_organizationId", "hierarchy_organizationName", "hierarchy_parentOrganizationId"]


def user_with(column: str, value: str) -> PlannedRow | Issue:
    cells = list(GOOD_USER)
    cells[USERS.index(column)] = value
    return Planner.start(USERS).check(2, cells)


def session_with(column: str, value: str) -> PlannedRow | Issue:
    cells = list(GOOD_SESSION)
    cells[SESSIONS.index(column)] = value
    return Planner.start(SESSIONS).check(2, cells)


def code_of(result: PlannedRow | Issue) -> str | None:
    return result.code if isinstance(result, Issue) else None


def test_valid_user_row_is_planned_with_its_key_and_cells() -> None:
    # Given a valid users row
    # When it is checked
    result = Planner.start(USERS).check(2, GOOD_USER)
    # Then it is planned under its username with every cell
    assert isinstance(result, PlannedRow)
    assert (result.row, result.key, result.warnings) == (2, "u1", ())
    assert result.values == dict(zip(USERS, GOOD_USER, strict=True))


def test_row_with_too_many_cells_is_an_error() -> None:
    # Given a row with one cell more than the header
    # When it is checked
    result = Planner.start(USERS).check(5, [*GOOD_USER, "extra"])
    # Then TOO_MANY_CELLS on that row
    assert isinstance(result, Issue) and (result.row, result.code) == (5, Code.TOO_MANY_CELLS)


def test_short_row_lacks_its_trailing_columns() -> None:
    # Given a row with two cells fewer than the header
    # When it is checked
    result = Planner.start(USERS).check(2, GOOD_USER[:-2])
    # Then it is planned without the two trailing columns (absent: the stored values stay)
    assert isinstance(result, PlannedRow)
    assert result.values == dict(zip(USERS[:-2], GOOD_USER[:-2], strict=True))


def test_short_row_without_a_mandatory_column_is_missing_mandatory_field() -> None:
    # Given a link row that ends before its mandatory group_role
    # When it is checked
    result = Planner.start(["user_username", "group_name", "group_role"]).check(4, ["u1", "G"])
    # Then MISSING_MANDATORY_FIELD on that column, saying the row ends before it
    assert isinstance(result, Issue)
    assert (result.row, result.column, result.code) == (4, "group_role", Code.MISSING_MANDATORY_FIELD)
    assert "ends before" in result.message


def test_short_organization_row_without_its_id_gets_one() -> None:
    # Given an organizations header whose id column comes last, and a row that ends before it
    planner = Planner.start(["hierarchy_organizationName", "hierarchy_organizationId"], seed="ref")
    # When it is checked
    result = planner.check(2, ["North"])
    # Then an id is generated, as for a blank id
    assert isinstance(result, PlannedRow) and result.values["hierarchy_organizationId"] == result.key


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_username_is_missing_mandatory_field(blank: str) -> None:
    # Given a users row whose key is blank
    # When it is checked
    result = user_with("user_username", blank)
    # Then MISSING_MANDATORY_FIELD on user_username
    assert isinstance(result, Issue)
    assert (result.code, result.column) == (Code.MISSING_MANDATORY_FIELD, "user_username")


def test_key_with_surrounding_spaces_is_invalid() -> None:
    # Given a username with a trailing space
    # When it is checked
    # Then INVALID_KEY rather than a silent second user
    assert code_of(user_with("user_username", "u1 ")) == Code.INVALID_KEY


def test_duplicate_key_is_an_error_on_the_later_row() -> None:
    # Given two rows with the same username
    planner = Planner.start(USERS)
    # When both are checked in order
    first, second = planner.check(2, GOOD_USER), planner.check(3, GOOD_USER)
    # Then the first is planned and the later one is DUPLICATE_KEY
    assert isinstance(first, PlannedRow)
    assert isinstance(second, Issue) and (second.row, second.code) == (3, Code.DUPLICATE_KEY)


def test_blank_optional_cells_are_kept_blank_for_clearing() -> None:
    # Given a users row with blank optional cells
    # When it is checked
    result = user_with("user_email", "")
    # Then it is planned, the blank kept so apply can clear the field
    assert isinstance(result, PlannedRow) and result.values["user_email"] == ""


@pytest.mark.parametrize("password", ["Secret-Pass1", "aB_cdefg", "Ünïcødé!x"])
def test_strong_password_is_accepted(password: str) -> None:
    # Given a password of 8+ characters with upper, lower and special characters
    # When it is checked
    # Then the row is planned
    assert isinstance(user_with("user_password", password), PlannedRow)


@pytest.mark.parametrize("password", ["Sh-rt1", "alllower-1", "ALLUPPER-1", "NoSpecial1", "No Special1"])
def test_weak_password_is_rejected(password: str) -> None:
    # Given a password missing length, a case or a special character
    # When it is checked
    result = user_with("user_password", password)
    # Then WEAK_PASSWORD, and the message does not quote it
    assert isinstance(result, Issue) and result.code == Code.WEAK_PASSWORD
    assert password not in result.message


def test_blank_password_passes_planning() -> None:
    # Given a blank password (mandatory only on create, which apply decides)
    # When it is checked
    # Then it is planned
    assert isinstance(user_with("user_password", ""), PlannedRow)


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@sub.example.org"])
def test_valid_email_is_accepted(email: str) -> None:
    assert isinstance(user_with("user_email", email), PlannedRow)


@pytest.mark.parametrize("email", ["nobody", "a@b", "a b@c.de", "a@@b.co", "@b.co"])
def test_invalid_email_is_rejected(email: str) -> None:
    # Given a cell that is not an address
    # When it is checked
    # Then INVALID_EMAIL
    assert code_of(user_with("user_email", email)) == Code.INVALID_EMAIL


@pytest.mark.parametrize("language", ["en", "en-US", "EN-US", "fr-CA", "zh-Hant-TW", "es-419", "de-CH-1996"])
def test_bcp47_language_is_accepted(language: str) -> None:
    assert isinstance(user_with("user_language", language), PlannedRow)


@pytest.mark.parametrize("language", ["english", "en_US", "e", "en-", "12-US"])
def test_non_bcp47_language_is_rejected(language: str) -> None:
    # Given a cell that is not a BCP 47 tag
    # When it is checked
    # Then INVALID_LANGUAGE
    assert code_of(user_with("user_language", language)) == Code.INVALID_LANGUAGE


@pytest.mark.parametrize("value", ["TRUE", "false", "True"])
def test_boolean_words_are_accepted_without_warning(value: str) -> None:
    result = user_with("user_active", value)
    assert isinstance(result, PlannedRow) and result.warnings == ()


@pytest.mark.parametrize("value", ["1", "0"])
def test_numeric_boolean_is_accepted_with_a_warning(value: str) -> None:
    # Given user_active as 1 or 0
    # When it is checked
    result = user_with("user_active", value)
    # Then the row is planned with a BOOLEAN_AS_NUMBER warning on that row and column
    assert isinstance(result, PlannedRow)
    assert [(w.row, w.column, w.code) for w in result.warnings] == [(2, "user_active", Code.BOOLEAN_AS_NUMBER)]


@pytest.mark.parametrize("value", ["yes", "2", "T"])
def test_other_boolean_values_are_rejected(value: str) -> None:
    assert code_of(user_with("user_active", value)) == Code.INVALID_BOOLEAN


@pytest.mark.parametrize("roles", ["ADMIN", "CONTENT_CREATOR|GROUP_CREATOR", "system_manager|DATA_EXPLORER"])
def test_global_roles_are_accepted(roles: str) -> None:
    assert isinstance(user_with("user_role", roles), PlannedRow)


@pytest.mark.parametrize("roles", ["TEST_TAKER", "ADMIN|", "ADMIN,SUPPORT", "ROOT"])
def test_unknown_global_role_is_rejected(roles: str) -> None:
    # Given a user_role outside the global roles (a group role, an empty part, a comma list)
    # When it is checked
    # Then INVALID_ROLE
    assert code_of(user_with("user_role", roles)) == Code.INVALID_ROLE


def test_first_error_in_column_order_is_reported() -> None:
    # Given a row with a bad email and a bad language
    cells = list(GOOD_USER)
    cells[3], cells[4] = "nope", "english"
    # When it is checked
    result = Planner.start(USERS).check(2, cells)
    # Then only the first (email) is reported
    assert isinstance(result, Issue) and result.column == "user_email"


# -- groups -----------------------------------------------------------------------------------
def test_group_row_is_keyed_by_group_name() -> None:
    result = Planner.start(["group_name", "group_active"]).check(2, ["Group A", "FALSE"])
    assert isinstance(result, PlannedRow) and result.key == "Group A"


def test_blank_group_name_is_missing_mandatory_field() -> None:
    result = Planner.start(["group_name", "group_description"]).check(2, ["", "x"])
    assert code_of(result) == Code.MISSING_MANDATORY_FIELD


def test_group_active_numeric_warns() -> None:
    result = Planner.start(["group_name", "group_active"]).check(2, ["G", "0"])
    assert isinstance(result, PlannedRow) and [w.code for w in result.warnings] == [Code.BOOLEAN_AS_NUMBER]


# -- link templates ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["GROUP_MANAGER", "GRADER", "TEST_TAKER", "BOOKLET_PUBLISHER", "scan_uploader"])
def test_group_roles_are_accepted(role: str) -> None:
    result = Planner.start(["user_username", "group_name", "group_role"]).check(2, ["u1", "G", role])
    assert isinstance(result, PlannedRow) and result.key == "u1#G"


@pytest.mark.parametrize("role", ["ADMIN", "TEACHER", "GRADER|TEST_TAKER"])
def test_unknown_group_role_is_rejected(role: str) -> None:
    result = Planner.start(["user_username", "group_name", "group_role"]).check(2, ["u1", "G", role])
    assert code_of(result) == Code.INVALID_GROUP_ROLE


def test_blank_group_role_is_missing_mandatory_field() -> None:
    result = Planner.start(["user_username", "group_name", "group_role"]).check(2, ["u1", "G", ""])
    assert isinstance(result, Issue) and (result.code, result.column) == (Code.MISSING_MANDATORY_FIELD, "group_role")


def test_same_user_in_two_groups_is_not_a_duplicate() -> None:
    planner = Planner.start(["user_username", "user_name", "group_name", "group_role"])
    first = planner.check(2, ["u1", "U", "G1", "GRADER"])
    second = planner.check(3, ["u1", "U", "G2", "GRADER"])
    assert isinstance(first, PlannedRow) and isinstance(second, PlannedRow)


def test_same_membership_twice_is_a_duplicate_key() -> None:
    planner = Planner.start(["user_username", "group_name", "group_role"])
    planner.check(2, ["u1", "G1", "GRADER"])
    assert code_of(planner.check(3, ["u1", "G1", "TEST_TAKER"])) == Code.DUPLICATE_KEY


# -- organizations ----------------------------------------------------------------------------
def test_blank_organization_id_is_generated() -> None:
    # Given an organizations row without an id
    # When it is checked
    result = Planner.start(ORGS).check(2, ["", "North", ""])
    # Then a uuid is generated, used as key and value
    assert isinstance(result, PlannedRow)
    assert uuid.UUID(result.key).version == 4
    assert result.values["hierarchy_organizationId"] == result.key


def test_generated_organization_id_is_stable_with_a_seed() -> None:
    # Given the same file planned twice with the same seed
    # When the blank-id row is checked each time
    first = Planner.start(ORGS, seed="ref-1").check(2, ["", "North", ""])
    again = Planner.start(ORGS, seed="ref-1").check(2, ["", "North", ""])
    # Then the same id is generated
    assert isinstance(first, PlannedRow) and isinstance(again, PlannedRow) and first.key == again.key


def test_root_is_not_an_organization_id() -> None:
    assert code_of(Planner.start(ORGS).check(2, ["root", "Root", ""])) == Code.INVALID_KEY


def test_organization_cannot_be_its_own_parent() -> None:
    assert code_of(Planner.start(ORGS).check(2, ["o1", "One", "o1"])) == Code.HIERARCHY_CYCLE


def test_blank_organization_name_is_missing_mandatory_field() -> None:
    assert code_of(Planner.start(ORGS).check(2, ["o1", "", ""])) == Code.MISSING_MANDATORY_FIELD


# -- sessions ---------------------------------------------------------------------------------
def test_valid_session_row_is_planned_under_its_name() -> None:
    result = Planner.start(SESSIONS).check(2, GOOD_SESSION)
    assert isinstance(result, PlannedRow) and result.key == "Session 1"


def test_two_sessions_on_one_delivery_are_both_planned() -> None:
    # Given two rows with the same delivery and different session names
    planner = Planner.start(SESSIONS)
    other = [*GOOD_SESSION[:2], "Session 2", *GOOD_SESSION[3:]]
    # When both are checked
    first, second = planner.check(2, GOOD_SESSION), planner.check(3, other)
    # Then both are planned, each under its name
    assert isinstance(first, PlannedRow) and isinstance(second, PlannedRow)
    assert (first.key, second.key) == ("Session 1", "Session 2")


def test_same_session_name_twice_is_a_duplicate_key() -> None:
    # Given the same session name on two rows, even with other deliveries
    planner = Planner.start(SESSIONS)
    planner.check(2, GOOD_SESSION)
    # When the later row is checked
    result = planner.check(3, ["d2", *GOOD_SESSION[1:]])
    # Then DUPLICATE_KEY on session_name
    assert isinstance(result, Issue) and (result.column, result.code) == ("session_name", Code.DUPLICATE_KEY)


def test_blank_delivery_is_missing_mandatory_field() -> None:
    assert code_of(session_with("session_deliveryId", "")) == Code.MISSING_MANDATORY_FIELD


@pytest.mark.parametrize(
    "date",
    [
        "2024-01-01T08:00:00Z",
        "2024-1-1T08:00:00Z",
        "2024-1-1T8:0:0Z",
        "2024-01-01T08:00:00.250Z",
        "2024-01-01T08:00:00+00:00",
        "2024-01-01T08:00Z",
        "2024-01-01T10:00:00+02:00",
        "2024-1-1T03:00:00-0500",
    ],
)
def test_iso8601_dates_with_z_or_offset_are_accepted(date: str) -> None:
    assert isinstance(session_with("session_startDate", date), PlannedRow)


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("2024-1-31T12:00:00Z", "2024-01-31T12:00:00Z"),
        ("2022-12-1T12:00:00Z", "2022-12-01T12:00:00Z"),
        ("2024-01-31T12:00:00+02:00", "2024-01-31T10:00:00Z"),
        ("2024-01-01T01:30:00+0230", "2023-12-31T23:00:00Z"),
        ("2024-1-31T9:05:00.5-05", "2024-01-31T14:05:00.5Z"),
    ],
)
def test_dates_are_stored_as_the_utc_instant_in_one_form(cell: str, stored: str) -> None:
    assert rules.to_utc_date(cell) == stored


@pytest.mark.parametrize(
    "date",
    [
        "2024-01-01",
        "2024-01-01T08:00:00",
        "2024-02-30T08:00:00Z",
        "01/02/2024",
        "2024-01-01T24:00:00Z",
        "2024-01-01T08:00:00+24:00",
        "2024-01-01T08:00:00+02:60",
        "24-01-01T08:00:00Z",
    ],
)
def test_dates_without_zone_or_impossible_are_rejected(date: str) -> None:
    # Given a date without time, without Z or offset, impossible, or not ISO
    # When it is checked
    # Then INVALID_DATE
    assert code_of(session_with("session_startDate", date)) == Code.INVALID_DATE


def test_start_before_end_compares_instants_across_offsets() -> None:
    # Given a start at 09:00+02:00 (07:00Z) and the end at 08:00Z
    cells = [*GOOD_SESSION[:4], "2024-01-01T09:00:00+02:00", "2024-01-01T08:00:00Z"]
    # When it is checked
    # Then the start is before the end
    assert isinstance(Planner.start(SESSIONS).check(2, cells), PlannedRow)


@pytest.mark.parametrize("start", ["2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z"])
def test_start_not_before_end_is_rejected(start: str) -> None:
    # Given a start equal to or after the end
    # When it is checked
    result = session_with("session_startDate", start)
    # Then INVALID_DATE_RANGE
    assert code_of(result) == Code.INVALID_DATE_RANGE


@pytest.mark.parametrize("zone", ["Europe/Warsaw", "America/New_York", "UTC"])
def test_iana_timezone_is_accepted(zone: str) -> None:
    assert isinstance(session_with("session_timezone", zone), PlannedRow)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CEST+2", "../etc/passwd"])
def test_unknown_timezone_is_rejected(zone: str) -> None:
    assert code_of(session_with("session_timezone", zone)) == Code.INVALID_TIMEZONE


def test_blank_session_name_is_missing_mandatory_field() -> None:
    assert code_of(session_with("session_name", "")) == Code.MISSING_MANDATORY_FIELD


def test_session_without_dates_is_planned() -> None:
    planner = Planner.start(["session_batteryId", "group_name", "session_name"])
    result = planner.check(2, ["b1", "G", "S"])
    assert isinstance(result, PlannedRow) and result.key == "S"


# -- repeated header columns (TAO's existing-groups and battery session templates) ----------------
TAO_EXISTING = [
    "session_deliveryId",
    "group_name",
    "session_name",
    "session_timezone",
    "session_startDate",
    "session_endDate",
    "session_submissionDate",
    "session_waitingPageDate",
    "session_securitySettings",
    "session_reviewSettings",
    "session_waitingPageDate",
    "session_testRunnerAccessibilityPlugins",
    "session_testRunnerSessionPlugins",
    "session_reportSettings",
    "session_readAloud",
]
TAO_EXISTING_ROW = [
    "MyDeliveryID",
    "Group B",
    "Session 3",
    "Europe/Warsaw",
    "2023-01-01T12:00:00Z",
    "2023-12-31T12:00:00Z",
    "2024-1-31T12:00:00Z",
    "2022-12-1T12:00:00Z",
    "requireFullscreen,preventRightClickAndKeyboardShortcuts,preventScreenshot",
    "enableTTReview",
    "contrast,contrastToolOptions,customPointer,customPointerOptions,font,fontToolOptions,zoom",
    "studentReport",
    "print",
    "content-based",
]


def test_row_one_cell_short_per_repeat_maps_onto_the_header_without_the_repeat() -> None:
    # Given TAO's header repeating session_waitingPageDate and its sample row, one cell shorter
    planner = Planner.start(TAO_EXISTING)
    # When the row is checked
    result = planner.check(2, TAO_EXISTING_ROW)
    # Then every cell lands in its column as TAO meant, and the repeat is a header warning
    assert [(w.row, w.column, w.code) for w in planner.warnings] == [
        (1, "session_waitingPageDate", Code.DUPLICATE_COLUMN)
    ]
    assert isinstance(result, PlannedRow), result
    header_without_repeat = TAO_EXISTING[:10] + TAO_EXISTING[11:]
    assert result.values == dict(zip(header_without_repeat, TAO_EXISTING_ROW, strict=True))
    assert result.values["session_waitingPageDate"] == "2022-12-1T12:00:00Z"
    assert result.values["session_readAloud"] == "content-based"


def test_row_as_wide_as_the_header_ignores_the_repeats_cells() -> None:
    # Given a header repeating group_description, and a row with a cell for each header name
    planner = Planner.start(["group_name", "group_description", "group_active", "group_description"])
    # When the row is checked
    result = planner.check(2, ["G", "first", "TRUE", "second"])
    # Then the first occurrence counts, the repeat's cell is ignored
    assert isinstance(result, PlannedRow)
    assert result.values == {"group_name": "G", "group_description": "first", "group_active": "TRUE"}


def test_repeated_key_column_uses_its_first_occurrence() -> None:
    # Given the key column twice, the repeat first in a wide row
    planner = Planner.start(["user_username", "user_name", "user_username"])
    # When two full rows differ only in the repeat's cell
    first, second = planner.check(2, ["u1", "A", "x"]), planner.check(3, ["u2", "B", "x"])
    # Then each is keyed by its first cell
    assert isinstance(first, PlannedRow) and isinstance(second, PlannedRow)
    assert (first.key, second.key) == ("u1", "u2")


def test_row_longer_than_the_header_is_too_many_cells_even_with_repeats() -> None:
    planner = Planner.start(["group_name", "group_description", "group_description"])
    assert code_of(planner.check(2, ["G", "a", "b", "c"])) == Code.TOO_MANY_CELLS
