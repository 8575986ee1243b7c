"""`roster` exit codes, usage errors, the human summary and the progress display (terminal only)."""

from __future__ import annotations

import io

import pytest

from rostercli.api import ApiError, AuthenticationFailed, Rejected
from rostercli.cli import (
    Exit,
    exit_code_for_error,
    exit_code_for_status,
    format_job,
    main,
    status_display,
    upload_progress,
)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("COMPLETED", 0),
        ("COMPLETED_WITH_ERRORS", 2),
        ("FAILED", 3),
        ("PENDING", 0),
        ("PROCESSING", 0),
        ("HELD", 6),
        ("DISCARDED", 3),
        ("ABORTED", 3),
    ],
)
def test_job_status_maps_to_its_documented_exit_code(status, code):
    assert exit_code_for_status(status) == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Rejected("not a CSV", status=415, code="INVALID_FILE_TYPE"), 4),
        (AuthenticationFailed("refused", status=401), 5),
        (AuthenticationFailed("forbidden", status=403), 5),
        (ApiError("server error", status=503), 1),
        (ApiError("cannot reach"), 1),
    ],
)
def test_errors_map_to_their_documented_exit_code(error, code):
    assert exit_code_for_error(error) == code


def test_exit_codes_are_stable():
    assert {e.name: int(e) for e in Exit} == {
        "OK": 0,
        "FAILURE": 1,
        "COMPLETED_WITH_ERRORS": 2,
        "IMPORT_FAILED": 3,
        "REJECTED": 4,
        "AUTHENTICATION_FAILED": 5,
        "HELD": 6,
    }


def test_bad_usage_exits_1_not_argparse_2(capsys):
    # argparse's own code 2 would read as "completed with errors"
    with pytest.raises(SystemExit) as raised:
        main(["upload"], env={})

    assert raised.value.code == 1
    assert "usage: roster" in capsys.readouterr().err


def test_missing_settings_exit_1_with_a_hint(capsys):
    assert main(["token"], env={"ROSTER_CONFIG": "/nonexistent/roster.toml"}) == 1
    assert "does not exist" in capsys.readouterr().err


def test_summary_lists_counts_and_first_errors_with_row_numbers():
    job = {
        "referenceId": "0b9e7f52-4c55-4e7e-9a77-55f1f9a8e0c1",
        "status": "COMPLETED_WITH_ERRORS",
        "fileName": "users.csv",
        "template": "users",
        "dryRun": False,
        "summary": {"rows": 3, "created": 2, "updated": 0, "unchanged": 0, "failed": 1, "warnings": 0},
        "errors": [{"row": 4, "column": "user_email", "code": "INVALID_EMAIL", "message": "Not an address."}],
    }

    text = format_job(job)

    assert "COMPLETED_WITH_ERRORS" in text
    assert "3: 2 created, 0 updated, 0 unchanged, 1 failed, 0 warnings" in text
    assert "row 4 user_email: INVALID_EMAIL: Not an address." in text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_bar_in_a_pipe():
    progress, close = upload_progress(50_000_000, io.StringIO())
    close()

    assert progress is None


def test_progress_bar_on_a_terminal_for_a_large_file():
    stream = Terminal()
    progress, close = upload_progress(50_000_000, stream)
    assert progress is not None
    progress(25_000_000, 50_000_000)
    close()

    assert "50%" in stream.getvalue()


def test_no_progress_bar_for_a_small_file_even_on_a_terminal():
    progress, _ = upload_progress(10_000, Terminal())

    assert progress is None


def test_waiting_display_shows_the_status_on_a_terminal_and_nothing_in_a_pipe():
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with status_display("ref-1", stream) as show:
            show({"status": "PROCESSING"})

    assert "ref-1: PROCESSING" in terminal.getvalue()
    assert pipe.getvalue() == ""
