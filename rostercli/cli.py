"""`roster`: upload rostering CSV files, follow their import, fetch the result report.

Exit codes (stable):
  0  completed; or upload accepted / job still running when --wait is not given; an action done
  2  completed with errors (some rows were skipped)
  3  import failed, discarded or aborted (nothing was written)
  4  rejected by the API (a 4xx other than 401/403: not a CSV, too large, unknown reference, wrong state...)
  5  authentication failed (token refused, or the API answered 401/403)
  6  held for approval (the import would change more than its change threshold: approve or discard it)
  1  anything else (bad usage, missing settings, unreachable server, 5xx after retries, --wait timeout)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, TextIO

from tqdm import tqdm

from rostercli.api import HELD, TERMINAL, ApiError, AuthenticationFailed, Client, Progress, Rejected
from rostercli.config import ConfigError, Settings, resolve
from rostercli.plan import Route, Upload, idempotency_key, plan_upload

PROGRESS_MIN_BYTES = 1_048_576  # a bar for uploads from 1 MiB, on a terminal only
ERRORS_SHOWN = 10


class Exit(IntEnum):
    OK = 0
    FAILURE = 1
    COMPLETED_WITH_ERRORS = 2
    IMPORT_FAILED = 3
    REJECTED = 4
    AUTHENTICATION_FAILED = 5
    HELD = 6


STATUS_EXITS = {
    "COMPLETED_WITH_ERRORS": Exit.COMPLETED_WITH_ERRORS,
    "FAILED": Exit.IMPORT_FAILED,
    "DISCARDED": Exit.IMPORT_FAILED,
    "ABORTED": Exit.IMPORT_FAILED,
    "HELD": Exit.HELD,
}
JOB_STATUSES = ("PENDING", "PROCESSING", "HELD", "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "DISCARDED", "ABORTED")


def exit_code_for_status(status: str | None) -> Exit:
    """A job's status as an exit code; a job still running is 0 (the upload was accepted)."""
    return STATUS_EXITS.get(status or "", Exit.OK)


def exit_code_for_error(error: BaseException) -> Exit:
    if isinstance(error, AuthenticationFailed):
        return Exit.AUTHENTICATION_FAILED
    if isinstance(error, Rejected):
        return Exit.REJECTED
    return Exit.FAILURE


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; 2 means "completed with errors" here, so bad usage is 1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(Exit.FAILURE, f"{self.prog}: error: {message}\n")


UPLOAD_HELP = """\
The route is chosen by size: direct when the multipart body fits the 6 MB Lambda event once base64-encoded
(raw body up to 4,400,000 bytes), gzip-compressed (FILE.csv.gz) when that makes it fit, else a presigned
S3 POST. Direct and gzip uploads carry an Idempotency-Key derived from the file's content (sha256 of the
decompressed bytes), the dry-run flag and the change threshold, so a retried cron job is not imported twice:
within 24 h the API answers the same file with the first referenceId. To import the same bytes again on
purpose, pass another --idempotency-key. The presigned route has no idempotency key: a re-run uploads and
imports the file again.
Failed requests (connection errors, 429, 5xx) are retried with exponential backoff; a 4xx never is.
"""


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--api-url", default=argparse.SUPPRESS, help="API base URL (env ROSTER_API_URL)")
    common.add_argument("--client-id", default=argparse.SUPPRESS, help="app client id (env ROSTER_CLIENT_ID)")
    common.add_argument(
        "--client-secret", default=argparse.SUPPRESS, help="app client secret (env ROSTER_CLIENT_SECRET)"
    )
    waiting = _Parser(add_help=False)
    waiting.add_argument("--wait", action="store_true", help="poll until the import ends")
    waiting.add_argument("--json", action="store_true", help="print JSON on stdout")
    waiting.add_argument("--interval", type=float, default=2.0, help="seconds between polls (default 2)")
    waiting.add_argument("--timeout", type=float, default=1800.0, help="give up waiting after SECONDS (default 1800)")

    parser = _Parser(
        prog="roster",
        description="Client of the Rostering Upload API. Settings: flags, then ROSTER_API_URL / ROSTER_CLIENT_ID / "
        "ROSTER_CLIENT_SECRET, then $ROSTER_CONFIG or ~/.config/roster/config.toml (api_url, client_id, "
        "client_secret).",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    commands.add_parser("token", parents=[common], help="print an access token (for curl)")
    _add_upload(commands, common, waiting)
    status = commands.add_parser("status", parents=[common, waiting], help="show an import job")
    status.add_argument("reference", metavar="REF", help="the referenceId of an upload")
    report = commands.add_parser("report", parents=[common], help="download the result report (CSV)")
    report.add_argument("reference", metavar="REF", help="the referenceId of an upload")
    report.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    listing = commands.add_parser("imports", parents=[common], help="list imports, newest first")
    listing.add_argument("--status", choices=JOB_STATUSES, help="only imports in this state")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="print JSON on stdout")
    for action, text in ACTIONS.items():
        command = commands.add_parser(action, parents=[common], help=text)
        command.add_argument("reference", metavar="REF", help="the referenceId of an upload")
        command.add_argument("--json", action="store_true", help="print JSON on stdout")
    webhook = commands.add_parser("webhook", parents=[common], help="the tenant's webhook: set URL | show | delete")
    webhook.add_argument("action", choices=("set", "show", "delete"))
    webhook.add_argument("url", nargs="?", help="the receiver's https URL (for set)")
    webhook.add_argument(
        "--event", dest="events", action="append", metavar="TYPE", help="repeatable (default: every event type)"
    )
    return parser


def _add_upload(commands: Any, common: argparse.ArgumentParser, waiting: argparse.ArgumentParser) -> None:
    upload = commands.add_parser(
        "upload",
        parents=[common, waiting],
        help="upload a CSV file",
        description=UPLOAD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("file", type=Path, metavar="FILE", help="a .csv file (or .csv.gz)")
    upload.add_argument("--dry-run", action="store_true", help="validate and classify rows, write nothing")
    upload.add_argument("--idempotency-key", metavar="K", help="instead of the key derived from the content")
    upload.add_argument(
        "--change-threshold",
        type=_percentage,
        metavar="N",
        help="hold the import (HELD, exit 6 with --wait) if it would update more than N%% of the tenant's existing "
        "records of its kind (at least 10 of them); approve or discard it then",
    )


ACTIONS = {
    "approve": "apply a HELD import (re-planned against the roster as it is now)",
    "discard": "end a HELD import without writing anything (DISCARDED)",
    "abort": "end a PENDING or HELD import without writing anything (ABORTED)",
}


def _percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("the change threshold is a percentage from 0 to 100")
    return value


# -- output --------------------------------------------------------------------------------------------------


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def format_job(job: Mapping[str, Any]) -> str:
    """The human summary: status, counts, and the first errors with their spreadsheet row numbers."""
    lines = [f"Reference  {job.get('referenceId')}", f"Status     {job.get('status')}"]
    details = [str(job.get("fileName") or "?")]
    if job.get("template"):
        details.append(f"template {job['template']}")
    if job.get("dryRun"):
        details.append("dry run: nothing written")
    lines.append("File       " + ", ".join(details))
    summary = job.get("summary")
    if summary:
        counts = ", ".join(
            f"{summary.get(name, 0)} {name}" for name in ("created", "updated", "unchanged", "failed", "warnings")
        )
        lines.append(f"Rows       {summary.get('rows', 0)}: {counts}")
    errors = list(job.get("errors") or [])
    if errors:
        lines.append(f"Errors (first {min(len(errors), ERRORS_SHOWN)} of {len(errors)} listed):")
        for issue in errors[:ERRORS_SHOWN]:
            column = f" {issue['column']}" if issue.get("column") else ""
            lines.append(f"  row {issue.get('row')}{column}: {issue.get('code')}: {issue.get('message')}")
        lines.append(f"Full report: roster report {job.get('referenceId')} -o report.csv")
    return "\n".join(lines)


def upload_progress(size: int, stream: TextIO) -> tuple[Progress | None, Callable[[], None]]:
    """A tqdm bar for a large upload on a terminal; none in a pipe (or for a small file)."""
    if size < PROGRESS_MIN_BYTES or not stream.isatty():
        return None, lambda: None
    bar = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc="upload", file=stream, leave=False)

    def update(sent: int, total: int) -> None:
        bar.total = total
        bar.n = sent
        bar.refresh()

    return update, bar.close


@contextmanager
def status_display(reference_id: str, stream: TextIO) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A one-line "status, elapsed" display while waiting, on a terminal only."""
    if not stream.isatty():
        yield lambda job: None
        return
    bar = tqdm(total=None, bar_format="{desc} [{elapsed}]", file=stream, leave=False)

    def show(job: dict[str, Any]) -> None:
        bar.set_description_str(f"{reference_id}: {job.get('status')}")
        bar.refresh()

    try:
        yield show
    finally:
        bar.close()


# -- commands ------------------------------------------------------------------------------------------------


def wait_for(client: Client, reference_id: str, args: argparse.Namespace) -> dict[str, Any]:
    with status_display(reference_id, sys.stderr) as on_status:
        job = client.wait(reference_id, interval=args.interval, timeout=args.timeout, on_status=on_status)
    if job.get("status") not in TERMINAL and job.get("status") != HELD:
        raise ApiError(f"the job {reference_id} is still {job.get('status')} after {args.timeout:g} s")
    return job


def command_token(client: Client, args: argparse.Namespace) -> Exit:
    print(client.token())
    return Exit.OK


def command_upload(client: Client, args: argparse.Namespace) -> Exit:
    try:
        upload: Upload = plan_upload(args.file)
    except (OSError, EOFError) as error:
        raise UsageError(f"cannot read {args.file}: {error}") from None
    key = None
    if upload.route is not Route.PRESIGNED:
        key = args.idempotency_key or idempotency_key(
            upload.csv, dry_run=args.dry_run, change_threshold=args.change_threshold
        )
    progress, close = upload_progress(len(upload.payload), sys.stderr)
    try:
        result = client.upload(
            upload,
            dry_run=args.dry_run,
            idempotency_key=key,
            progress=progress,
            change_threshold=args.change_threshold,
        )
    finally:
        close()
    reference_id = str(result["referenceId"])
    answer: dict[str, Any] = {
        "referenceId": reference_id,
        "route": upload.route.value,
        "idempotencyKey": key,
        "dryRun": args.dry_run,
        "message": result.get("message"),
    }
    if not args.json:
        dry = ", dry run" if args.dry_run else ""
        print(f"Uploaded {upload.file_name} ({len(upload.csv)} bytes, {upload.route.value} route{dry}): {reference_id}")
    if not args.wait:
        if args.json:
            print(json.dumps(answer))
        return Exit.OK
    job = wait_for(client, reference_id, args)
    if args.json:
        print(json.dumps({**answer, "job": job}))
    else:
        print(format_job(job))
    return exit_code_for_status(job.get("status"))


def command_status(client: Client, args: argparse.Namespace) -> Exit:
    job = wait_for(client, args.reference, args) if args.wait else client.status(args.reference)
    print(json.dumps(job) if args.json else format_job(job))
    return exit_code_for_status(job.get("status"))


def command_report(client: Client, args: argparse.Namespace) -> Exit:
    if args.output is None:
        client.download_report(args.reference, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return Exit.OK
    partial = args.output.with_name(args.output.name + ".part")
    try:
        with partial.open("wb") as sink:
            written = client.download_report(args.reference, sink)
        partial.replace(args.output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    print(f"Wrote {written} bytes to {args.output}", file=sys.stderr)
    return Exit.OK


def command_imports(client: Client, args: argparse.Namespace) -> Exit:
    imports = client.imports(status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps(imports))
        return Exit.OK
    for job in imports:
        summary = job.get("summary") or {}
        counts = f"{summary.get('rows', 0)} rows" if summary else ""
        created = job.get("createdAt") or ""
        print(f"{job['referenceId']}  {job['status']:<21}  {created:<20}  {job.get('fileName')}  {counts}")
    return Exit.OK


def command_action(client: Client, args: argparse.Namespace) -> Exit:
    job = client.act(args.reference, args.command)
    print(json.dumps(job) if args.json else format_job(job))
    return Exit.OK


def command_webhook(client: Client, args: argparse.Namespace) -> Exit:
    if args.action == "set":
        if not args.url:
            raise UsageError("roster webhook set needs the receiver's URL")
        body: dict[str, Any] = {"url": args.url}
        if args.events:
            body["events"] = args.events
        result = client.webhook("PUT", body)
        print(json.dumps(result, indent=2))
        print("Store the secret now: it is not shown again.", file=sys.stderr)
    else:
        print(json.dumps(client.webhook("GET" if args.action == "show" else "DELETE"), indent=2))
    return Exit.OK


COMMANDS: dict[str, Callable[[Client, argparse.Namespace], Exit]] = {
    "token": command_token,
    "upload": command_upload,
    "status": command_status,
    "report": command_report,
    "imports": command_imports,
    "approve": command_action,
    "discard": command_action,
    "abort": command_action,
    "webhook": command_webhook,
}


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environment = os.environ if env is None else env
    flags = {key: getattr(args, key, None) for key in ("api_url", "client_id", "client_secret")}
    secret = flags["client_secret"] or environment.get("ROSTER_CLIENT_SECRET")
    try:
        settings: Settings = resolve(flags, environment)
        secret = settings.client_secret
        return int(COMMANDS[args.command](Client(settings), args))
    except KeyboardInterrupt:
        print("roster: interrupted", file=sys.stderr)
        return 130
    except (ApiError, ConfigError, UsageError) as error:
        code = exit_code_for_error(error)
        message = redact(str(error), secret)
        print(f"roster: {message}", file=sys.stderr)
        if getattr(args, "json", False):
            print(
                json.dumps(
                    {
                        "error": {
                            "message": message,
                            "code": getattr(error, "code", None),
                            "httpStatus": getattr(error, "status", None),
                            "exitCode": int(code),
                        }
                    }
                )
            )
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
