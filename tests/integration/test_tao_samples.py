"""TAO's own sample files (``tests/samples/tao``, verbatim from the public user guide) import as
they are: no file error, and a row error only where TAO's own rules reject the sample's value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lambdas.handlers import importer as handler
from lambdas.roster.store import Entity, RosterStore
from testkit.apigw import TENANT_A
from testkit.import_stack import ImportStack, upload_event

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "tao"
SESSION_SAMPLES = (
    "sessions-with-delivery-in-new-groups.csv",
    "sessions-with-delivery-in-existing-groups.csv",
    "sessions-with-battery-in-existing-groups.csv",
)

# In the order a district sends them: (file, template, status, (rows, created, failed, warnings),
# errors [(row, column, code)]).
EXPECTED = [
    ("organizations.csv", "organizations", "COMPLETED", (1, 1, 0, 0), []),
    ("users.csv", "users", "COMPLETED", (2, 2, 0, 0), []),
    ("groups.csv", "groups", "COMPLETED", (2, 2, 0, 0), []),
    # TAO's password rule (8+ characters, upper, lower, special) rejects its own `password`.
    ("link-new-user-to-groups.csv", "link-new-user-to-groups", "COMPLETED_WITH_ERRORS", (1, 0, 1, 0),
     [(2, "user_password", "WEAK_PASSWORD")]),
    # `GroupB` (no space) names no group: the groups sample made `Group B`.
    ("link-existing-user-to-groups.csv", "link-existing-user-to-groups", "COMPLETED_WITH_ERRORS", (1, 0, 1, 0),
     [(2, "group_name", "UNKNOWN_GROUP")]),
    ("sessions-with-delivery-in-new-groups.csv", "sessions", "COMPLETED", (1, 1, 0, 0), []),
    # The repeated session_waitingPageDate is one warning on the header.
    ("sessions-with-delivery-in-existing-groups.csv", "sessions", "COMPLETED", (1, 1, 0, 1), []),
    ("sessions-with-battery-in-existing-groups.csv", "sessions", "COMPLETED", (1, 1, 0, 1), []),
]  # fmt: skip


def sample(name: str, *, unique_session: bool = False) -> str:
    """The sample as printed; with ``unique_session``, its session named after the file."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    if unique_session:
        text = text.replace(",Session 3,", f",Session 3 ({name}),")
    return text


def import_file(stack: ImportStack, name: str, content: str, lambda_context: Any) -> dict[str, Any]:
    ref = stack.seed_upload(content.encode(), file_name=name)
    response = handler.process_batch(upload_event(ref), lambda_context, stack.importer())
    assert response["batchItemFailures"] == []
    return stack.job(ref)


def stored(stack: ImportStack, entity: Entity, key: str) -> dict[str, Any]:
    store = RosterStore(stack.settings.roster_table, resource=stack.dynamodb)
    found = store.get_many(TENANT_A, [(entity, key)]).get((entity, key))
    assert found is not None, (entity, key)
    return found


def test_every_tao_sample_imports_as_printed(stack: ImportStack, lambda_context: Any) -> None:
    # Given TAO's sample files as printed (only the session names made unique)
    assert sorted(path.name for path in SAMPLES.glob("*.csv")) == sorted(name for name, *_ in EXPECTED)
    for name, template, status, (rows, created, failed, warnings), errors in EXPECTED:
        # When each is imported in the order a district sends them
        job = import_file(stack, name, sample(name, unique_session=True), lambda_context)
        # Then none is a file error: each has its template, state, counts and only TAO's own row errors
        assert (job["template"], job["status"]) == (template, status), (name, job.get("errors"))
        summary = job["summary"]
        assert (summary["rows"], summary["created"], summary["failed"], summary["warnings"]) == (
            rows, created, failed, warnings,
        ), (name, summary)  # fmt: skip
        assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == errors, name
    # And the users' odd cells are kept as written
    user = stored(stack, Entity.USER, "user1")
    assert (user["user_externalId"], user["user_metadata_<KEY>"]) == ('{"google": "user-id"}', "{metadata_value}")


def test_tao_existing_groups_sample_maps_its_cells_onto_the_header_without_the_repeat(
    stack: ImportStack, lambda_context: Any
) -> None:
    # Given Group B (from the groups sample)
    import_file(stack, "groups.csv", sample("groups.csv"), lambda_context)
    # When the existing-groups session sample is imported as printed
    job = import_file(stack, SESSION_SAMPLES[1], sample(SESSION_SAMPLES[1]), lambda_context)
    # Then the session holds each cell in the column TAO meant, dates in one canonical form
    assert [(w["row"], w["column"], w["code"]) for w in job["warnings"]] == [
        (1, "session_waitingPageDate", "DUPLICATE_COLUMN")
    ]
    session = stored(stack, Entity.SESSION, "Session 3")
    assert {name: session.get(name) for name in (
        "session_deliveryId", "group_name", "session_submissionDate", "session_waitingPageDate",
        "session_securitySettings", "session_reviewSettings", "session_testRunnerAccessibilityPlugins",
        "session_testRunnerSessionPlugins", "session_reportSettings", "session_readAloud",
    )} == {
        "session_deliveryId": "MyDeliveryID",
        "group_name": "Group B",
        "session_submissionDate": "2024-01-31T12:00:00Z",
        "session_waitingPageDate": "2022-12-01T12:00:00Z",
        "session_securitySettings": "requireFullscreen,preventRightClickAndKeyboardShortcuts,preventScreenshot",
        "session_reviewSettings": "enableTTReview",
        "session_testRunnerAccessibilityPlugins": (
            "contrast,contrastToolOptions,customPointer,customPointerOptions,font,fontToolOptions,zoom"
        ),
        "session_testRunnerSessionPlugins": "studentReport",
        "session_reportSettings": "print",
        "session_readAloud": "content-based",
    }  # fmt: skip


def test_the_three_session_samples_verbatim_import_without_failed_rows(stack: ImportStack, lambda_context: Any) -> None:
    # Given an empty tenant
    outcomes = []
    for name in SESSION_SAMPLES:
        # When the three session samples are imported exactly as printed (all name "Session 3")
        job = import_file(stack, name, sample(name), lambda_context)
        summary = job["summary"]
        outcomes.append((job["status"], summary["created"], summary["updated"], summary["unchanged"]))
    # Then no row fails: the first creates Group B and the session, the second finds it as it is,
    # the battery sample moves it from the delivery to the battery
    assert outcomes == [("COMPLETED", 1, 0, 0), ("COMPLETED", 0, 0, 1), ("COMPLETED", 0, 1, 0)]
    session = stored(stack, Entity.SESSION, "Session 3")
    assert (session["session_batteryId"], session.get("session_deliveryId")) == ("MyBatteryID", None)
    assert stored(stack, Entity.GROUP, "Group B")["group_description"] == "Grade 10 Math"
