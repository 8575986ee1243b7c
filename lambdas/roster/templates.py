"""The six TAO rostering templates, one declarative table each, and their detection from the header.

Each ``Template`` lists its columns with, per column: the stateless cell check (``rules``), the
conversion to the stored value, and when a value is mandatory:

* ``always``  — a blank cell is an error on every row (the key, names, roles of a link);
* ``create``  — the value must be present when the row creates the entity (``user_password``);
* ``never``   — optional; a blank cell clears the stored value.

``organization=True`` marks ``*_organizationId`` columns: the value is ``root`` or an existing
organization of the tenant, and it is mandatory once the tenant has organizations (checked by
``apply``, which sees the store). Everything stateful lives in ``lambdas.roster.apply``.

So "where is the users.csv password rule?": ``USERS`` below, column ``user_password`` →
``rules.check_password`` (strength, while planning) and ``mandatory="create"`` (apply).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from lambdas.roster import rules
from lambdas.roster.codes import Code
from lambdas.roster.contract import FileRejected, Issue

Mandatory = Literal["always", "create", "never"]
TemplateName = Literal[
    "users", "groups", "organizations", "link-new-user-to-groups", "link-existing-user-to-groups", "sessions"
]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    check: rules.Check | None = None
    convert: rules.Convert = rules.same
    mandatory: Mandatory = "never"
    organization: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    name: TemplateName
    key: tuple[str, ...]
    """Columns whose cells, joined by ``#``, form the row key (the entity's sort key)."""
    columns: tuple[Column, ...]
    required_header: tuple[str, ...]
    """Columns the header must carry, else the file is rejected (``MISSING_COLUMN``)."""
    metadata_prefix: str | None = None
    """``user_metadata_`` / ``group_metadata_``: any column ``<prefix><KEY>`` is free text."""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    def column(self, name: str) -> Column | None:
        found = self.by_name.get(name)
        prefix = self.metadata_prefix
        if found is None and prefix and name.startswith(prefix) and len(name) > len(prefix):
            return Column(name)
        return found


def _active(name: str) -> Column:
    return Column(name, rules.check_boolean, rules.to_boolean)


def _date(name: str) -> Column:
    return Column(name, rules.check_utc_date, rules.to_utc_date)


USER_USERNAME = Column("user_username", mandatory="always")
USER_PASSWORD = Column("user_password", rules.check_password, mandatory="create")  # stored only as a hash
USER_FIELDS = (
    USER_USERNAME,
    Column("user_name"),
    USER_PASSWORD,
    Column("user_email", rules.check_email),
    Column("user_language", rules.check_language),
    _active("user_active"),
)
USER_ORGANIZATION = Column("user_organizationId", organization=True)
GROUP_NAME = Column("group_name", mandatory="always")
GROUP_ROLE = Column("group_role", rules.check_group_role, rules.to_upper, mandatory="always")

USERS = Template(
    name="users",
    key=("user_username",),
    columns=(
        *USER_FIELDS,
        Column("user_role", rules.check_roles, rules.to_roles),
        USER_ORGANIZATION,
        Column("user_externalId"),
    ),
    required_header=("user_username",),
    metadata_prefix="user_metadata_",
)

GROUPS = Template(
    name="groups",
    key=("group_name",),
    columns=(
        GROUP_NAME,
        Column("group_description"),
        _active("group_active"),
        Column("group_organizationId", organization=True),
    ),
    required_header=("group_name",),
    metadata_prefix="group_metadata_",
)


def is_group_column(name: str) -> bool:
    """Whether ``name`` is a column of the groups template (``group_metadata_<KEY>`` included)."""
    return GROUPS.column(name) is not None


def carries_group_fields(values: dict[str, str]) -> bool:
    """Whether a sessions row carries group columns beyond ``group_name`` (a blank cell counts:
    the column is there). Only then may the row create a missing group."""
    return any(name != GROUP_NAME.name and is_group_column(name) for name in values)


ORGANIZATION_ID = "hierarchy_organizationId"
PARENT_ID = "hierarchy_parentOrganizationId"
ORGANIZATIONS = Template(
    name="organizations",
    key=(ORGANIZATION_ID,),
    columns=(
        Column(ORGANIZATION_ID),  # blank: generated while planning
        Column("hierarchy_organizationName", mandatory="always"),
        Column("hierarchy_organizationDescription"),
        Column(PARENT_ID),  # blank or `root`: top level; else an earlier row or an existing organization
    ),
    required_header=(ORGANIZATION_ID, "hierarchy_organizationName"),
)

LINK_NEW = Template(
    name="link-new-user-to-groups",
    key=("user_username", "group_name"),
    columns=(*USER_FIELDS, GROUP_ROLE, GROUP_NAME, USER_ORGANIZATION),
    required_header=("user_username", "group_name", "group_role"),
)

LINK_EXISTING = Template(
    name="link-existing-user-to-groups",
    key=("user_username", "group_name"),
    columns=(USER_USERNAME, GROUP_NAME, GROUP_ROLE),
    required_header=("user_username", "group_name", "group_role"),
)

DELIVERY_ID = "session_deliveryId"
BATTERY_ID = "session_batteryId"
START_DATE, END_DATE = "session_startDate", "session_endDate"
SESSION_NAME = "session_name"


def _sessions(test_column: str) -> Template:
    """A sessions template: ``session_name`` identifies the session (TAO: "the name used to
    identify the session"); ``test_column``, its delivery or battery, is mandatory on every row
    and may change (TAO: "can be updated until any test execution is started").

    Its group columns are the groups template's own (``GROUPS.columns`` and its metadata
    prefix): the same cell checks, and ``apply`` merges them into the group with ``GROUPS``."""
    return Template(
        name="sessions",
        key=(SESSION_NAME,),
        columns=(
            Column(test_column, mandatory="always"),
            *GROUPS.columns,
            Column(SESSION_NAME, mandatory="always"),
            Column("session_timezone", rules.check_timezone),
            _date(START_DATE),
            _date(END_DATE),
            _date("session_submissionDate"),
            _date("session_waitingPageDate"),
            Column("session_securitySettings"),
            Column("session_reviewSettings"),
            Column("session_testRunnerAccessibilityPlugins"),
            Column("session_testRunnerSessionPlugins"),
            Column("session_reportSettings"),
            Column("session_readAloud"),  # free text: the TAO sample holds `content-based`
        ),
        required_header=(test_column, GROUP_NAME.name, SESSION_NAME),
        metadata_prefix=GROUPS.metadata_prefix,
    )


SESSIONS_DELIVERY = _sessions(DELIVERY_ID)
SESSIONS_BATTERY = _sessions(BATTERY_ID)

TEMPLATES: tuple[Template, ...] = (USERS, GROUPS, ORGANIZATIONS, LINK_NEW, LINK_EXISTING, SESSIONS_DELIVERY)
LINK_NEW_USER_COLUMNS = frozenset(c.name for c in USER_FIELDS) - {"user_username"} | {"user_organizationId"}


def _reject(code: Code, message: str, column: str | None = None) -> FileRejected:
    return FileRejected(Issue(row=1, column=column, code=code, message=message))


def detect(header: Sequence[str]) -> Template:
    """The template of a header, decided by column families (first match wins):

    1. any ``session_*`` column → ``sessions``; its test column is ``session_deliveryId`` or
       ``session_batteryId`` (both, or neither, is rejected);
    2. any ``hierarchy_*`` column → ``organizations``;
    3. any ``user_*`` column → a users family template:
       - with ``group_name`` or ``group_role`` and at least one user column besides
         ``user_username`` (``user_name``, ``user_password``, ``user_email``, ``user_language``,
         ``user_active``, ``user_organizationId``) → ``link-new-user-to-groups``;
       - with ``group_name`` or ``group_role`` and no other user column → ``link-existing-user-to-groups``;
       - otherwise → ``users``;
    4. any ``group_*`` column → ``groups``;
    5. anything else → ``UNKNOWN_TEMPLATE``.

    Detection never depends on the file name. A header that matches a family but lacks a
    required column is then rejected with ``MISSING_COLUMN`` (``Planner.start``), which names the
    column to add rather than guessing another template.
    """
    names = set(header)
    if any(name.startswith("session_") for name in names):
        has_delivery, has_battery = DELIVERY_ID in names, BATTERY_ID in names
        if has_delivery and has_battery:
            raise _reject(
                Code.UNKNOWN_TEMPLATE, "A sessions file has session_deliveryId or session_batteryId, not both."
            )
        if not has_delivery and not has_battery:
            raise _reject(
                Code.MISSING_COLUMN, "A sessions file needs a session_deliveryId or a session_batteryId column."
            )
        return SESSIONS_DELIVERY if has_delivery else SESSIONS_BATTERY
    if any(name.startswith("hierarchy_") for name in names):
        return ORGANIZATIONS
    if any(name.startswith("user_") for name in names):
        if "group_name" in names or "group_role" in names:
            return LINK_NEW if names & LINK_NEW_USER_COLUMNS else LINK_EXISTING
        return USERS
    if any(name.startswith("group_") for name in names):
        return GROUPS
    raise _reject(
        Code.UNKNOWN_TEMPLATE,
        "The header matches no template (users, groups, organizations, link-new-user-to-groups, "
        "link-existing-user-to-groups, sessions).",
    )


def for_rows(name: str, values: dict[str, str]) -> Template:
    """The template ``apply`` works with: ``sessions`` splits on the test column the rows carry."""
    if name == "sessions":
        return SESSIONS_BATTERY if BATTERY_ID in values else SESSIONS_DELIVERY
    for template in TEMPLATES:
        if template.name == name:
            return template
    raise ValueError(f"unknown template {name!r}")
