"""The import pipeline: one upload from ``PENDING`` to its terminal state.

``Importer.handle`` takes one queue message: an upload arrived (plan the file, then apply it
inline or fan it out in chunks) or a chunk is ready (apply and record it). Every step is
conditional or idempotent so that at-least-once delivery, duplicates and crashes never double
count or lose rows; docs/IMPORT.md walks through each crash point.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import closing
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common.config import Settings
from lambdas.common.errors import EmptyFile, FileTooLarge, InvalidFileType
from lambdas.common.observability import Metric, failure_metric, logger, metrics
from lambdas.importer import planning
from lambdas.importer.chunks import ChunkItem, RosterServices, apply_chunk, item_from_json, item_to_json, tally
from lambdas.importer.messages import ChunkQueue, ChunkReady, HoldDue, Message, TurnDue, UploadArrived
from lambdas.importer.report import ReportWriter
from lambdas.intake.content import check_csv_size, check_stored_csv
from lambdas.jobs import hold
from lambdas.jobs.control import JobControl, settle_unimported
from lambdas.jobs.events import JobEvents
from lambdas.jobs.line import TenantLine, Turn, TurnBell
from lambdas.jobs.model import IMPORT_FAILED, REFERENCE_ID, SUMMARY_FIELDS, JobStatus, is_terminal, plain
from lambdas.jobs.objects import JobFiles, SourceFile
from lambdas.jobs.store import TALLY, JobStore, LeaseLost
from lambdas.roster.contract import FileRejected, Issue
from lambdas.tenants.settings import TenantSettings

# ``chain`` of an S3 upload event: start the job's re-check chain if it must wait.
NEW_CHAIN = "new"


class RetryLater(Exception):
    """The message cannot be handled now (another attempt holds the job's lease): let the queue
    deliver it again after its visibility timeout."""


class Importer:
    def __init__(
        self,
        *,
        settings: Settings,
        jobs: JobStore,
        files: JobFiles,
        events: JobEvents,
        queue: ChunkQueue,
        rules: RosterServices,
        tenants: TenantSettings,
        line: TenantLine,
        bell: TurnBell,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._tenants = tenants
        self._jobs = jobs
        self._files = files
        self._events = events
        self._queue = queue
        self._rules = rules
        self._line = line
        self._bell = bell
        self._clock = clock
        # Ends a hold left unanswered past its deadline when it blocks the tenant's line.
        self._control = JobControl(
            jobs=jobs, files=files, events=events, line=line, wake=lambda t, r: bell.send(t, r), clock=clock
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        rules: RosterServices,
        *,
        dynamodb: Any = None,
        s3: Any = None,
        sqs: Any = None,
        eventbridge: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> Importer:
        """The importer over the resources named in ``settings`` (clients default to boto3's)."""
        dynamodb = dynamodb or boto3.resource("dynamodb")
        line = TenantLine(settings.jobs_table, resource=dynamodb, clock=clock)
        return cls(
            settings=settings,
            tenants=TenantSettings(settings.tenants_table, resource=dynamodb),
            jobs=JobStore(settings.jobs_table, resource=dynamodb),
            files=JobFiles(settings.bucket_name, client=s3),
            events=JobEvents(settings.event_bus_name, client=eventbridge),
            queue=ChunkQueue(settings.import_queue_url, client=sqs),
            rules=rules,
            line=line,
            bell=TurnBell(line, settings.import_queue_url, client=sqs),
            clock=clock,
        )

    def handle(self, message: Message) -> None:
        if isinstance(message, UploadArrived):
            self.upload_arrived(message)
        elif isinstance(message, TurnDue):
            self.turn_due(message)
        elif isinstance(message, HoldDue):
            self.hold_due(message)
        else:
            self.chunk_ready(message)

    # -- an upload arrived -----------------------------------------------------------------
    def upload_arrived(self, message: UploadArrived) -> None:
        reference_id = message.reference_id
        if REFERENCE_ID.fullmatch(reference_id) is None:
            moved = self._files.move_object(message.key, "failed")
            logger.error("upload with a foreign name moved aside", key=message.key, moved_to=moved)
            return
        self._arrive(reference_id, chain=NEW_CHAIN)

    def turn_due(self, message: TurnDue) -> None:
        """The turn may have passed to this job (``check`` None), or its re-check is due."""
        if REFERENCE_ID.fullmatch(message.reference_id) is None:
            logger.error("turn message with a foreign reference ignored", reference_id=message.reference_id)
            return
        self._arrive(message.reference_id, chain=message.check)

    def _arrive(self, reference_id: str, *, chain: str | None) -> None:
        """Start the job if it holds its tenant's turn (or take over a crashed attempt). ``chain``:
        ``NEW_CHAIN`` for the upload's S3 event, a token for a re-check, None for a wake-up."""
        source = self._files.find_source(reference_id)
        if source is None:
            logger.info("upload already gone", reference_id=reference_id)
            return
        if source.tenant is None:
            if source.place == "pending":
                self._files.move_source(reference_id, "failed")
            logger.error("upload without tenant metadata moved to failed", reference_id=reference_id)
            return
        tenant = source.tenant
        job = self._jobs.get(tenant=tenant, reference_id=reference_id)
        if job is None:
            job = self._recreate_job(tenant, reference_id, source)
            if job is None:
                return
        if is_terminal(job):
            self._settle_late_upload(reference_id, job, source)
            self._files.delete_chunks(reference_id)  # a cleanup that a failure cut short
            self._pass_turn(tenant, job)  # a hand-over that a failure cut short
            return
        if job.get("source") == "presigned" and "arrived" not in job:
            self._jobs.mark_arrived(tenant=tenant, reference_id=reference_id)
        if job["status"] == JobStatus.PENDING and not self._holds_turn(tenant, reference_id, job, chain):
            return
        attempt = uuid.uuid4().hex
        claimed = self._jobs.claim(
            tenant=tenant,
            reference_id=reference_id,
            attempt=attempt,
            now=int(self._clock()),
            lease_seconds=self._settings.import_lease_seconds,
        )
        if claimed is None:
            self._unclaimable(tenant, reference_id, retry=chain == NEW_CHAIN)
            return
        if job["status"] == JobStatus.PENDING:
            self._events.status_changed(claimed, tenant=tenant, previous=JobStatus.PENDING.value)
        else:
            logger.warning("import taken over after an expired lease", reference_id=reference_id)
        logger.info("import started", reference_id=reference_id, tenant=tenant, size=source.size)
        self._run(tenant, reference_id, claimed, source, attempt)

    # -- the tenant's line -----------------------------------------------------------------
    def _holds_turn(self, tenant: str, reference_id: str, job: Mapping[str, Any], chain: str | None) -> bool:
        """Take the job's place in the line (once) and tell whether it holds the turn. A job that
        must wait keeps one re-check chain alive and makes sure the head of the line moves."""
        if chain not in (None, NEW_CHAIN) and job.get("lineCheck") != chain:
            logger.info("superseded line check dropped", reference_id=reference_id)
            return False
        self._line.enter(tenant=tenant, reference_id=reference_id)
        turn = self._line.turn(tenant=tenant, reference_id=reference_id)
        if turn.mine or turn.ahead is None:  # None: the job left PENDING meanwhile; the claim decides
            return True
        logger.info("import waits its turn", reference_id=reference_id, ahead=turn.ahead, head=turn.head)
        if chain is not None:
            token = uuid.uuid4().hex
            delay = self._settings.import_line_recheck_seconds
            self._bell.send(tenant, reference_id, check=token, delay_seconds=delay)
            previous = None if chain == NEW_CHAIN else chain
            self._jobs.set_line_check(tenant=tenant, reference_id=reference_id, token=token, previous=previous)
        self._nudge_head(tenant, turn)
        return False

    def _nudge_head(self, tenant: str, turn: Turn) -> None:
        """A head that cannot move on its own: an entry whose job is finished or gone leaves the
        line; a head still ``PENDING`` or whose attempt crashed (lease expired, not dispatched)
        is woken; a hold unanswered past its deadline ends ``DISCARDED`` (and passes the turn).
        A head that runs, is dispatched to chunks or waits for approval in time is left alone."""
        if turn.head is None:
            return
        head = self._jobs.get(tenant=tenant, reference_id=turn.head)
        if head is not None and head["status"] == JobStatus.HELD:
            self._control.expire_hold(tenant, head)
        elif head is None or is_terminal(head):
            logger.warning("finished import left in the line removed", reference_id=turn.head)
            self._line.leave(tenant=tenant, reference_id=turn.head, ticket=turn.head_ticket)
            self._bell.ring(tenant)
        elif head["status"] == JobStatus.PENDING or (
            head["status"] == JobStatus.PROCESSING
            and not head.get("dispatched")
            and int(head.get("leaseUntil", 0)) < int(self._clock())
        ):
            self._bell.send(tenant, turn.head)

    def _pass_turn(self, tenant: str, job: Mapping[str, Any]) -> None:
        """The job is terminal: out of the line, and the next one woken (both repeatable)."""
        if "ticket" in job:
            self._line.leave(tenant=tenant, reference_id=job["referenceId"], ticket=int(job["ticket"]))
            woken = self._bell.ring(tenant)
            logger.info("turn passed", reference_id=job["referenceId"], to=woken)

    def _recreate_job(self, tenant: str, reference_id: str, source: SourceFile) -> dict[str, Any] | None:
        if source.place != "pending":
            logger.error("settled upload without a job", reference_id=reference_id, place=source.place)
            return None
        created = self._jobs.ensure_pending(
            tenant=tenant,
            reference_id=reference_id,
            file_name=source.metadata.file_name,
            dry_run=source.metadata.dry_run,
            source=source.metadata.source,
            change_threshold=source.metadata.change_threshold,
            now=int(self._clock()),
        )
        if created:
            logger.warning("job recreated from the upload's metadata", reference_id=reference_id, tenant=tenant)
        return self._jobs.get(tenant=tenant, reference_id=reference_id)

    def _settle_late_upload(self, reference_id: str, job: Mapping[str, Any], source: SourceFile) -> None:
        """A finished job whose file is still pending (it arrived after the job expired)."""
        if source.place == "pending":
            imported = job["status"] in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS)
            self._files.move_source(reference_id, "processed" if imported else "failed")
            logger.warning("upload for a finished job moved aside", reference_id=reference_id, status=job["status"])

    def _unclaimable(self, tenant: str, reference_id: str, *, retry: bool) -> None:
        """The claim lost. The upload's own event is retried while another attempt holds the job
        (that attempt may crash); a wake-up or re-check is not needed then."""
        current = self._jobs.get(tenant=tenant, reference_id=reference_id)
        if current is None or is_terminal(current) or current.get("dispatched") or not retry:
            logger.info("duplicate import message ignored", reference_id=reference_id)
            return
        raise RetryLater(f"import {reference_id} is held by another attempt")

    def _run(self, tenant: str, reference_id: str, job: Mapping[str, Any], source: SourceFile, attempt: str) -> None:
        """Plan and apply, or resume what a crashed attempt left (``job`` as just claimed)."""
        if "failure" in job:
            self._finish_failed(tenant, reference_id, job["failure"], attempt)
        elif "chunksTotal" in job and job["chunksDone"] >= job["chunksTotal"]:
            self._finalize_if_done(tenant, reference_id)
        elif job.get("fanOut"):
            self._dispatch(tenant, reference_id, attempt, int(job["chunksTotal"]))
        elif (refused := self._refused_upload(reference_id, source)) is not None:
            self._fail(tenant, reference_id, attempt, refused)
        else:
            try:
                if not self._held(tenant, reference_id, job, attempt):
                    self._plan(tenant, reference_id, job, attempt)
            except FileRejected as rejected:
                self._fail(tenant, reference_id, attempt, rejected.issue)

    def _refused_upload(self, reference_id: str, source: SourceFile) -> Issue | None:
        """What the upload route answers 413/415 (size; and content, for a presigned POST, which
        never passed the route), as a file-level error at row 0."""
        try:
            if source.metadata.source == "presigned":
                with closing(self._files.open_pending(reference_id)) as body:
                    check_stored_csv(body, source.size, self._settings.max_upload_bytes)
            else:
                check_csv_size(source.size, self._settings.max_upload_bytes)
        except (EmptyFile, FileTooLarge, InvalidFileType) as refused:
            return Issue(0, None, refused.code, refused.message)
        return None

    def _plan(self, tenant: str, reference_id: str, job: Mapping[str, Any], attempt: str) -> None:
        chunk_rows = self._settings.import_chunk_rows
        with closing(self._files.open_pending(reference_id)) as body:
            planner, chunks = planning.plan(body, self._rules.start_planner, seed=reference_id, chunk_rows=chunk_rows)
            first = next(chunks)
            second = next(chunks, None)
            if second is None:
                self._record_plan(tenant, reference_id, attempt, planner.template, planner.warnings, 1, fan_out=False)
                self._apply_and_record(
                    tenant, reference_id, 0, first, attempt, template=planner.template, dry_run=bool(job["dryRun"])
                )
                self._finalize_if_done(tenant, reference_id)
                return
            self._files.put_chunk(reference_id, 0, map(item_to_json, first))
            self._files.put_chunk(reference_id, 1, map(item_to_json, second))
            total = 2
            for items in chunks:
                self._files.put_chunk(reference_id, total, map(item_to_json, items))
                total += 1
        self._record_plan(tenant, reference_id, attempt, planner.template, planner.warnings, total, fan_out=True)
        logger.info("import fanned out", reference_id=reference_id, chunks=total)
        self._dispatch(tenant, reference_id, attempt, total)

    def _record_plan(
        self,
        tenant: str,
        reference_id: str,
        attempt: str,
        template: str,
        warnings: list[Issue],
        total: int,
        *,
        fan_out: bool,
    ) -> None:
        self._jobs.record_plan(
            tenant=tenant,
            reference_id=reference_id,
            attempt=attempt,
            template=template,
            chunks_total=total,
            fan_out=fan_out,
            file_warnings=[w.to_dict() for w in warnings],
        )

    def _dispatch(self, tenant: str, reference_id: str, attempt: str, total: int) -> None:
        recorded = self._jobs.recorded_chunks(tenant=tenant, reference_id=reference_id)
        self._queue.send(
            ChunkReady(tenant=tenant, reference_id=reference_id, chunk=n) for n in range(total) if n not in recorded
        )
        self._jobs.mark_dispatched(tenant=tenant, reference_id=reference_id, attempt=attempt)

    # -- the change hold -------------------------------------------------------------------
    def _held(self, tenant: str, reference_id: str, job: Mapping[str, Any], attempt: str) -> bool:
        """When a change threshold applies (the upload's, else the tenant's default), run the
        whole file as a dry run first; if it would update more than the threshold's share of the
        tenant's records of its kind, stop ``HELD`` with the planned report, nothing written.
        Not for a dry run (it writes nothing anyway) nor for an approved job."""
        threshold = job.get(hold.FIELD)
        if threshold is None:
            threshold = self._tenants.change_threshold(tenant)
        if threshold is None or job.get("dryRun") or job.get("approved"):
            return False
        check = uuid.uuid4().hex
        with tempfile.TemporaryFile() as sink:
            report = ReportWriter(sink)
            template, counts = self._dry_run(tenant, reference_id, report)
            existing = self._rules.store.count(tenant, hold.TEMPLATE_KIND[template])
            if not hold.exceeds(updated=counts["updated"], existing=existing, threshold=Decimal(threshold)):
                logger.info("import within its change threshold", reference_id=reference_id, existing=existing)
                return False
            report.finish()
            sink.seek(0)
            self._files.put_report(reference_id, sink)
        held = self._jobs.hold(
            tenant=tenant,
            reference_id=reference_id,
            attempt=attempt,
            template=template,
            summary=counts,
            errors=report.errors,
            warnings=report.warnings,
            hold_until=int(self._clock()) + hold.HOLD_SECONDS,
            check=check,
        )
        if held is None:
            raise LeaseLost(reference_id)
        self._check_hold_later(tenant, reference_id, check, hold.HOLD_SECONDS)
        metrics.add_metric(name="ImportsHeld", unit=MetricUnit.Count, value=1)
        logger.info("import held for approval", reference_id=reference_id, updated=counts["updated"], existing=existing)
        self._events.status_changed(held, tenant=tenant, previous=JobStatus.PROCESSING.value)
        return True

    def hold_due(self, message: HoldDue) -> None:
        """A held job's check: past ``holdUntil`` it ends ``DISCARDED`` (the 72 hours), else the
        chain goes on. A message of a superseded chain, or for an answered job, is dropped."""
        tenant, reference_id = message.tenant, message.reference_id
        job = self._jobs.get(tenant=tenant, reference_id=reference_id)
        if job is None or job["status"] != JobStatus.HELD or job.get("holdCheck") != message.check:
            logger.info("hold check dropped", reference_id=reference_id)
            return
        now = int(self._clock())
        remaining = int(job["holdUntil"]) - now
        if remaining < 0:
            expired = self._jobs.discard(tenant=tenant, reference_id=reference_id, expired_before=now)
            if expired is not None:
                logger.info("held import expired", reference_id=reference_id, tenant=tenant)
                settle_unimported(self._files, self._events, tenant, expired, JobStatus.HELD.value)
                self._pass_turn(tenant, expired)
            return
        following = uuid.uuid4().hex
        if self._jobs.pass_hold_check(
            tenant=tenant, reference_id=reference_id, check=message.check, following=following
        ):
            self._check_hold_later(tenant, reference_id, following, remaining + 1)

    def _check_hold_later(self, tenant: str, reference_id: str, check: str, delay_seconds: int) -> None:
        """The next message of the chain (SQS delays at most 15 minutes: the chain hops until the
        hold is over). A failed send is logged: a read of the job still ends an expired hold."""
        try:
            self._queue.send_later(HoldDue(tenant, reference_id, check), delay_seconds=delay_seconds)
        except Exception:
            logger.exception("hold check not scheduled", reference_id=reference_id)

    def _dry_run(self, tenant: str, reference_id: str, report: ReportWriter) -> tuple[str, dict[str, int]]:
        """Plan and dry-run apply the file chunk by chunk into ``report``: template and counts."""
        counts = dict.fromkeys(SUMMARY_FIELDS, 0)
        with closing(self._files.open_pending(reference_id)) as body:
            planner, chunks = planning.plan(
                body, self._rules.start_planner, seed=reference_id, chunk_rows=self._settings.import_chunk_rows
            )
            for warning in planner.warnings:
                report.file_warning(warning.to_dict())
            counts["warnings"] += len(planner.warnings)
            for items in chunks:
                records = apply_chunk(
                    items,
                    self._rules,
                    template=planner.template,
                    tenant=tenant,
                    reference_id=reference_id,
                    dry_run=True,
                )
                for record in records:
                    report.row(record)
                for name, value in tally(records).items():
                    counts[name] += value
        return planner.template, counts

    # -- a chunk is ready ------------------------------------------------------------------
    def chunk_ready(self, message: ChunkReady) -> None:
        tenant, reference_id = message.tenant, message.reference_id
        job = self._jobs.get(tenant=tenant, reference_id=reference_id)
        if job is None or is_terminal(job):
            logger.info("chunk of a finished import ignored", reference_id=reference_id, chunk=message.chunk)
            if job is not None:
                self._files.delete_chunks(reference_id)  # a cleanup that a failure cut short
                self._pass_turn(tenant, job)
            return
        if message.chunk not in self._jobs.recorded_chunks(tenant=tenant, reference_id=reference_id):
            items = [item_from_json(record) for record in self._files.read_chunk(reference_id, message.chunk)]
            self._apply_and_record(
                tenant,
                reference_id,
                message.chunk,
                items,
                uuid.uuid4().hex,
                template=job["template"],
                dry_run=bool(job["dryRun"]),
            )
        self._finalize_if_done(tenant, reference_id)

    def _apply_and_record(
        self,
        tenant: str,
        reference_id: str,
        chunk: int,
        items: list[ChunkItem],
        attempt: str,
        *,
        template: str,
        dry_run: bool,
    ) -> None:
        records = apply_chunk(
            items, self._rules, template=template, tenant=tenant, reference_id=reference_id, dry_run=dry_run
        )
        result_key = self._files.put_chunk_result(reference_id, chunk, attempt, records)
        recorded = self._jobs.record_chunk(
            tenant=tenant, reference_id=reference_id, chunk=chunk, counts=tally(records), result_key=result_key
        )
        logger.info("chunk applied", reference_id=reference_id, chunk=chunk, rows=len(records), recorded=recorded)

    # -- the end ---------------------------------------------------------------------------
    def _finalize_if_done(self, tenant: str, reference_id: str) -> None:
        """Report, move the file, then the terminal state: by whoever sees every chunk recorded.
        Each step may be repeated; the terminal write happens once."""
        job = self._jobs.get(tenant=tenant, reference_id=reference_id)
        if job is None or is_terminal(job) or job.get("chunksDone", 0) < job.get("chunksTotal", 1):
            return
        report = self._write_report(tenant, reference_id, job)
        summary = _summary(job)
        status = JobStatus.COMPLETED_WITH_ERRORS if summary["failed"] else JobStatus.COMPLETED
        self._files.move_source(reference_id, "processed")
        finished = self._jobs.finish(
            tenant=tenant,
            reference_id=reference_id,
            status=status,
            summary=summary,
            errors=report.errors,
            warnings=report.warnings,
        )
        if finished is not None:
            self._announce(tenant, finished, Metric.IMPORTS_COMPLETED)
        self._pass_turn(tenant, job)
        self._files.delete_chunks(reference_id)

    def _write_report(
        self, tenant: str, reference_id: str, job: Mapping[str, Any], file_error: Mapping[str, Any] | None = None
    ) -> ReportWriter:
        """The report of every recorded chunk (after ``file_error`` and the header warnings)."""
        with tempfile.TemporaryFile() as sink:
            report = ReportWriter(sink)
            if file_error is not None:
                report.file_error(file_error)
            for warning in job.get("fileWarnings", []):
                report.file_warning(warning)
            for key in self._jobs.chunk_result_keys(tenant=tenant, reference_id=reference_id):
                for record in self._files.read_chunk_result(key):
                    report.row(record)
            report.finish()
            sink.seek(0)
            self._files.put_report(reference_id, sink)
        return report

    def _fail(self, tenant: str, reference_id: str, attempt: str, issue: Issue) -> None:
        """A file-level problem: remember it first, so a takeover finishes the same failure."""
        self._jobs.record_failure(tenant=tenant, reference_id=reference_id, attempt=attempt, issue=issue.to_dict())
        self._finish_failed(tenant, reference_id, issue.to_dict(), attempt)

    def _finish_failed(self, tenant: str, reference_id: str, issue: Mapping[str, Any], attempt: str) -> None:
        self._files.delete_chunks(reference_id)
        with tempfile.TemporaryFile() as sink:
            report = ReportWriter(sink)
            report.file_error(issue)
            report.finish()
            sink.seek(0)
            self._files.put_report(reference_id, sink)
        self._files.move_source(reference_id, "failed")
        finished = self._jobs.finish(
            tenant=tenant,
            reference_id=reference_id,
            status=JobStatus.FAILED,
            summary=dict.fromkeys(SUMMARY_FIELDS, 0),
            errors=report.errors,
            warnings=[],
            attempt=attempt,
        )
        if finished is None:
            raise LeaseLost(reference_id)
        self._announce(tenant, finished, failure_metric(issue.get("code")))
        self._pass_turn(tenant, finished)

    # -- a message that failed after every retry (the dead-letter queue) --------------------
    def abandon(self, message: Message) -> None:
        """End the message's job ``FAILED`` / ``IMPORT_FAILED`` unless it already ended: report
        (the chunks recorded so far, after the error line), file to ``failed/``, the terminal
        write, the turn passed on, then its chunk files (they can hold passwords) deleted."""
        target = self._owner(message)
        if target is None:
            return
        tenant, reference_id = target
        job = self._jobs.get(tenant=tenant, reference_id=reference_id)
        if job is None:
            logger.warning("dead letter without a job", reference_id=reference_id)
            return
        if job["status"] in (JobStatus.PENDING, JobStatus.PROCESSING):
            message_text = "The import failed after every retry; rows of chunks not reported here were not applied."
            issue = Issue(0, None, IMPORT_FAILED, message_text).to_dict()
            report = self._write_report(tenant, reference_id, job, file_error=issue)
            self._files.move_source(reference_id, "failed")
            finished = self._jobs.abandon(
                tenant=tenant,
                reference_id=reference_id,
                summary=_summary(job),
                errors=report.errors,
                warnings=report.warnings,
            )
            if finished is not None:
                logger.error("import failed after every retry", reference_id=reference_id, tenant=tenant)
                self._announce(tenant, finished, failure_metric(IMPORT_FAILED), previous=job["status"])
            job = finished or self._jobs.get(tenant=tenant, reference_id=reference_id) or job
        if is_terminal(job):
            self._pass_turn(tenant, job)
            self._files.delete_chunks(reference_id)

    def _owner(self, message: Message) -> tuple[str, str] | None:
        if not isinstance(message, UploadArrived):
            return message.tenant, message.reference_id
        source = self._files.find_source(message.reference_id)
        if source is None or source.tenant is None:
            logger.warning("dead letter of an upload that is gone", key=message.key)
            return None
        return source.tenant, message.reference_id

    def _announce(
        self, tenant: str, job: Mapping[str, Any], metric: str, *, previous: str = JobStatus.PROCESSING.value
    ) -> None:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        logger.info(
            "import finished", reference_id=job["referenceId"], status=job["status"], summary=plain(job["summary"])
        )
        self._events.status_changed(job, tenant=tenant, previous=previous)


def _summary(job: Mapping[str, Any]) -> dict[str, int]:
    """The job's counters so far: the recorded chunks' tallies plus the header warnings."""
    summary = {name: int(job.get(TALLY[name], 0)) for name in SUMMARY_FIELDS}
    summary["warnings"] += len(job.get("fileWarnings", []))
    return summary
