"""Each TAO template's sample, uploaded in the order a district would (organizations, users,
groups, memberships, sessions), through the importer against moto: the right terminal state,
exact summary counts and row-numbered errors."""

from __future__ import annotations

import threading
from typing import Any

from lambdas.handlers import importer as handler
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A
from testkit.import_stack import ImportStack, sqs_event, upload_event, users_csv

ORGANIZATIONS = """\
hierarchy_organizationId,hierarchy_organizationName,hierarchy_organizationDescription,hierarchy_parentOrganizationId
district-1,North District,The north,
school-1,North High,,district-1
school-2,Orphan School,,nowhere
"""
USERS = """\
user_username,user_name,user_password,user_email,user_language,user_active,user_role,user_organizationId,user_externalId,user_metadata_grade
jdoe,John Doe,Secret#Pass1,jdoe@example.org,en-US,TRUE,ADMIN,school-1,ext-1,5
asmith,Ann Smith,Secret#Pass2,asmith@example.org,fr-FR,1,CONTENT_CREATOR|SUPPORT,district-1,ext-2,6
bad,Bad Email,Secret#Pass3,not-an-email,en-US,TRUE,,school-1,,
"""
GROUPS = """\
group_name,group_description,group_active,group_organizationId,group_metadata_level
class-5a,Class 5A,TRUE,school-1,5
class-5b,Class 5B,FALSE,school-1,5
"""
LINK_EXISTING = """\
user_username,group_name,group_role
jdoe,class-5a,GRADER
asmith,class-5b,TEST_TAKER
ghost,class-5a,TEST_TAKER
"""
LINK_NEW = """\
user_username,user_name,user_password,user_email,user_language,user_active,group_role,group_name,user_organizationId
kid1,Kid One,Secret#Kid1,kid1@example.org,en-US,TRUE,TEST_TAKER,class-5a,school-1
kid2,Kid Two,Secret#Kid2,kid2@example.org,en-US,TRUE,BOSS,class-5a,school-1
"""
SESSION_COLUMNS = (
    "group_name,session_name,session_timezone,session_startDate,session_endDate,session_submissionDate,"
    "session_waitingPageDate,session_securitySettings,session_reviewSettings,session_testRunnerAccessibilityPlugins,"
    "session_testRunnerSessionPlugins,session_reportSettings,session_readAloud,group_organizationId"
)
SESSIONS_DELIVERY = f"""\
session_deliveryId,{SESSION_COLUMNS}
d-1,class-5a,Maths,Europe/Paris,2026-12-01T08:00:00Z,2026-12-01T10:00:00Z,,,,,,,,,school-1
d-2,class-5b,English,Mars/Olympus,2026-12-01T08:00:00Z,2026-12-01T10:00:00Z,,,,,,,,,school-1
"""
SESSIONS_BATTERY = f"""\
session_batteryId,{SESSION_COLUMNS}
b-1,class-5b,Battery,Europe/Warsaw,2026-12-02T08:00:00Z,2026-12-02T12:00:00Z,,,,,,,,,school-1
b-2,class-5b,Backwards,Europe/Warsaw,2026-12-02T12:00:00Z,2026-12-02T08:00:00Z,,,,,,,,,school-1
"""

# (sample, template, status, summary (rows, created, failed, warnings), errors [(row, column, code)])
SAMPLES = [
    (ORGANIZATIONS, "organizations", "COMPLETED_WITH_ERRORS", (3, 2, 1, 0),
     [(4, "hierarchy_parentOrganizationId", "UNKNOWN_ORGANIZATION")]),
    (USERS, "users", "COMPLETED_WITH_ERRORS", (3, 2, 1, 1), [(4, "user_email", "INVALID_EMAIL")]),
    (GROUPS, "groups", "COMPLETED", (2, 2, 0, 0), []),
    (LINK_EXISTING, "link-existing-user-to-groups", "COMPLETED_WITH_ERRORS", (3, 2, 1, 0),
     [(4, "user_username", "UNKNOWN_USER")]),
    (LINK_NEW, "link-new-user-to-groups", "COMPLETED_WITH_ERRORS", (2, 1, 1, 0),
     [(3, "group_role", "INVALID_GROUP_ROLE")]),
    (SESSIONS_DELIVERY, "sessions", "COMPLETED_WITH_ERRORS", (2, 1, 1, 0),
     [(3, "session_timezone", "INVALID_TIMEZONE")]),
    (SESSIONS_BATTERY, "sessions", "COMPLETED_WITH_ERRORS", (2, 1, 1, 0),
     [(3, "session_endDate", "INVALID_DATE_RANGE")]),
]  # fmt: skip


def import_file(stack: ImportStack, content: str, lambda_context: Any) -> dict[str, Any]:
    ref = stack.seed_upload(content.encode())
    response = handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    assert response["batchItemFailures"] == []
    return stack.job(ref)


def test_every_template_sample_ends_with_exact_counts_and_row_errors(stack, lambda_context):
    for content, template, status, (rows, created, failed, warnings), errors in SAMPLES:
        # When each sample is imported after the ones it depends on
        job = import_file(stack, content, lambda_context)
        # Then its template, state, counts and errors are exactly the expected ones
        assert (job["template"], job["status"]) == (template, status), job
        summary = job["summary"]
        assert (summary["rows"], summary["created"], summary["failed"], summary["warnings"]) == (
            rows, created, failed, warnings,
        ), (template, summary)  # fmt: skip
        assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == errors, (template, job["errors"])


def test_reimporting_the_users_sample_updates_nothing(stack, lambda_context):
    import_file(stack, ORGANIZATIONS, lambda_context)
    import_file(stack, USERS, lambda_context)
    again = import_file(stack, USERS, lambda_context)
    assert again["summary"]["unchanged"] == 2 and again["summary"]["created"] == 0


def test_two_imports_of_one_tenant_at_once_both_finish_with_exact_counts(stack, lambda_context):
    # Given two users files of the same tenant stored at the same time
    first = stack.seed_upload(users_csv(40, start=1))
    second = stack.seed_upload(users_csv(40, start=41))
    failures: list[Any] = []

    def run(ref: str) -> None:
        response = handler.process_batch(upload_event(ref), lambda_context, stack.importer())
        failures.extend(response["batchItemFailures"])

    # When two importer invocations take them concurrently
    threads = [threading.Thread(target=run, args=(ref,)) for ref in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # And the importer's own messages are delivered (one import waited its turn and is woken)
    while bodies := stack.queue_bodies():
        for body in bodies:
            run_body = handler.process_batch(sqs_event([body]), lambda_context, stack.importer())
            failures.extend(run_body["batchItemFailures"])
    # Then both complete, each with its own forty rows
    assert failures == []
    for ref in (first, second):
        job = stack.job(ref)
        assert (job["status"], job["summary"]["created"]) == ("COMPLETED", 40)


def test_sessions_file_updates_the_groups_it_names_and_a_dry_run_writes_nothing(stack, lambda_context):
    # Given the two groups of the groups sample, stored at version 1
    import_file(stack, ORGANIZATIONS, lambda_context)
    import_file(stack, GROUPS, lambda_context)
    roster = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)

    def group(name: str) -> dict[str, Any]:
        item = roster.get_many(TENANT_A, [(Entity.GROUP, name)])[(Entity.GROUP, name)]
        return {"description": item["group_description"], "active": item["group_active"], "version": item["version"]}

    header = "session_deliveryId,group_name,group_description,session_name"
    # When a sessions file names them with new descriptions
    first = import_file(stack, f"{header}\nd-1,class-5a,Room 12,Maths\nd-1,class-5b,Room 14,English\n", lambda_context)
    # Then each row creates its session (counted once) and its group has the new description, at version 2
    assert (first["status"], first["summary"]["created"], first["summary"]["updated"]) == ("COMPLETED", 2, 0)
    assert group("class-5a") == {"description": "Room 12", "active": True, "version": 2}
    assert group("class-5b") == {"description": "Room 14", "active": False, "version": 2}
    # When a dry run of the same sessions with another description for class-5a arrives
    again = f"{header}\nd-1,class-5a,Room 13,Maths\nd-1,class-5b,Room 14,English\n"
    ref = stack.seed_upload(again.encode(), dry_run=True)
    response = handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    assert response["batchItemFailures"] == []
    dry = stack.job(ref)
    # Then it would update one row (its session unchanged, its group changed) and writes nothing
    assert (dry["summary"]["updated"], dry["summary"]["unchanged"]) == (1, 1)
    assert group("class-5a") == {"description": "Room 12", "active": True, "version": 2}
    # When the same file is imported for real
    real = import_file(stack, again, lambda_context)
    # Then it updates that group (version 3) and reports the row updated
    assert (real["summary"]["updated"], real["summary"]["unchanged"]) == (1, 1)
    assert group("class-5a") == {"description": "Room 13", "active": True, "version": 3}
