"""Accepting an upload: check the content, store file and job without half states, replay retries.

Write order (direct route): the ``PENDING`` job first, then the object.
- Job write fails: nothing exists; 500 ``UPLOAD_ERROR``.
- Object write fails: the job is deleted (compensation) and the caller gets 500 ``UPLOAD_ERROR``.
  If that delete fails too, the job was never shown to anyone and reads ``FAILED``
  (``UPLOAD_NOT_RECEIVED``) once its upload deadline passes; no object exists for it.
- Both succeed: the S3 event starts the import; the importer finds the job it expects.
The reverse order would let the S3 event race ahead of the job, and a failed job write would
leave an object that is imported although its caller was told it failed.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.common.config import Settings
from lambdas.common.errors import IdempotencyConflict, InvalidFileType, MalformedRequest, UploadError
from lambdas.common.identity import Caller
from lambdas.common.observability import logger
from lambdas.intake.content import check_csv_content
from lambdas.intake.form import UploadForm, clean_file_name
from lambdas.intake.objects import ObjectStore
from lambdas.jobs.line import TenantLine
from lambdas.jobs.objects import UploadMetadata, source_key
from lambdas.jobs.store import JobStore

MAX_IDEMPOTENCY_KEY = 128
IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600
PRESIGNED_GRACE_SECONDS = 60
STORAGE_ERRORS = (BotoCoreError, ClientError)


class IntakeService:
    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        objects: ObjectStore,
        line: TenantLine | None = None,
        idempotency_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._objects = objects
        self._line = line
        self._idempotency_client = idempotency_client
        self._clock = clock
        self._idempotent_store: Callable[..., dict[str, Any]] | None = None
        self._idempotency_config: Any = None

    def accept(
        self, caller: Caller, form: UploadForm, *, idempotency_key: str | None = None, lambda_context: Any = None
    ) -> dict[str, Any]:
        """Check and store an uploaded file; answer the ``result`` of the upload route (openapi.yaml)."""
        check_csv_content(form.content)
        digest = hashlib.sha256(form.content).digest()
        if idempotency_key is None:
            return self._store(tenant=caller.tenant, form=form, digest=digest)
        _check_idempotency_key(idempotency_key)
        return self._replay_or_store(caller.tenant, idempotency_key, form, digest, lambda_context)

    def presign(
        self, caller: Caller, *, file_name: str, dry_run: bool, change_threshold: Decimal | None = None
    ) -> dict[str, Any]:
        """Create the ``PENDING`` job of a presigned POST upload and answer its URL and fields.
        ``file_name`` is cleaned as the upload form's part name is."""
        file_name = clean_file_name(file_name)
        if not file_name.lower().endswith(".csv"):
            raise InvalidFileType(f"The file {file_name!r} is not a CSV file: the presigned route takes a .csv file.")
        reference_id = str(uuid.uuid4())
        expires_in = self._settings.upload_url_expiry_seconds
        metadata = UploadMetadata(
            tenant=caller.tenant,
            file_name=file_name,
            dry_run=dry_run,
            source="presigned",
            change_threshold=change_threshold,
        )
        post = self._objects.presign_pending_post(
            reference_id, metadata=metadata, max_bytes=self._settings.max_upload_bytes, expires_in=expires_in
        )
        try:
            self._jobs.create_pending(
                tenant=caller.tenant,
                reference_id=reference_id,
                file_name=file_name,
                dry_run=dry_run,
                upload_deadline=int(self._clock()) + expires_in + PRESIGNED_GRACE_SECONDS,
                source="presigned",
                change_threshold=change_threshold,
            )
        except STORAGE_ERRORS:
            logger.exception("presigned job not created", reference_id=reference_id)
            raise UploadError("The upload could not be prepared; nothing was stored. Try again.") from None
        logger.info("presigned upload prepared", reference_id=reference_id, tenant=caller.tenant)
        return {
            "referenceId": reference_id,
            "url": post["url"],
            "fields": post["fields"],
            "expiresIn": expires_in,
            "maxBytes": self._settings.max_upload_bytes,
        }

    def _store(self, *, tenant: str, form: UploadForm, digest: bytes) -> dict[str, Any]:
        reference_id = str(uuid.uuid4())
        try:
            self._jobs.create_pending(
                tenant=tenant,
                reference_id=reference_id,
                file_name=form.file_name,
                dry_run=form.dry_run,
                upload_deadline=int(self._clock()) + self._settings.direct_upload_deadline_seconds,
                source="direct",
                change_threshold=form.change_threshold,
            )
        except STORAGE_ERRORS:
            logger.exception("job not created", reference_id=reference_id)
            raise UploadError("The file could not be stored; nothing was imported. Try again.") from None
        metadata = UploadMetadata(
            tenant=tenant,
            file_name=form.file_name,
            dry_run=form.dry_run,
            source="direct",
            sha256=digest.hex(),
            change_threshold=form.change_threshold,
        )
        try:
            self._objects.put_pending(reference_id, form.content, sha256_digest=digest, metadata=metadata)
        except STORAGE_ERRORS:
            logger.exception("file not stored", reference_id=reference_id)
            self._compensate(tenant, reference_id)
            raise UploadError("The file could not be stored; nothing was imported. Try again.") from None
        self._enter_line(tenant, reference_id)
        key = source_key(reference_id)
        logger.info("upload stored", reference_id=reference_id, tenant=tenant, size=len(form.content))
        return {"message": f"File uploaded to {key}", "referenceId": reference_id}

    def _enter_line(self, tenant: str, reference_id: str) -> None:
        """The file is stored: the upload is accepted, so it takes its place in the tenant's line
        now (acceptance order). Should this fail, the importer takes the place on the S3 event."""
        if self._line is None:
            return
        try:
            self._line.enter(tenant=tenant, reference_id=reference_id)
        except STORAGE_ERRORS:
            logger.exception("line not entered: the importer enters it", reference_id=reference_id)

    def _compensate(self, tenant: str, reference_id: str) -> None:
        try:
            self._jobs.delete_pending(tenant=tenant, reference_id=reference_id)
        except STORAGE_ERRORS:
            logger.exception("compensation failed: the job expires at its upload deadline", reference_id=reference_id)

    def _replay_or_store(
        self, tenant: str, key: str, form: UploadForm, digest: bytes, lambda_context: Any
    ) -> dict[str, Any]:
        # Imported here: only requests that carry an Idempotency-Key pay for it at cold start.
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        store = self._idempotent()
        if lambda_context is not None:
            self._idempotency_config.register_lambda_context(lambda_context)
        request = {"tenant": tenant, "key": key, "fingerprint": _fingerprint(form, digest)}
        try:
            return store(request=request, form=form, digest=digest)
        except IdempotencyValidationError:
            raise IdempotencyConflict(
                "This Idempotency-Key was used in the last 24 hours with a different file, another dryRun "
                "or another changeThreshold: use a new key."
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyConflict(
                "A request with this Idempotency-Key is still in progress: retry in a few seconds."
            ) from None
        except IdempotencyPersistenceLayerError:
            logger.exception("idempotency store failed")
            raise UploadError("The file could not be stored; nothing was imported. Try again.") from None

    def _idempotent(self) -> Callable[..., dict[str, Any]]:
        if self._idempotent_store is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            self._idempotency_config = IdempotencyConfig(
                event_key_jmespath="[tenant, key]",
                payload_validation_jmespath="fingerprint",  # the same key for another request: 409
                raise_on_no_idempotency_key=True,
                expires_after_seconds=IDEMPOTENCY_WINDOW_SECONDS,
            )
            persistence = DynamoDBPersistenceLayer(
                table_name=self._settings.idempotency_table, boto3_client=self._idempotency_client
            )

            def store(*, request: dict[str, Any], form: UploadForm, digest: bytes) -> dict[str, Any]:
                return self._store(tenant=request["tenant"], form=form, digest=digest)

            self._idempotent_store = idempotent_function(
                store,
                data_keyword_argument="request",
                persistence_store=persistence,
                config=self._idempotency_config,
            )
        return self._idempotent_store


def _check_idempotency_key(key: str) -> None:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise MalformedRequest(f"The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters.")


def _fingerprint(form: UploadForm, digest: bytes) -> list[Any]:
    """What makes two uploads under one Idempotency-Key the same request: the bytes (after
    decompression), ``dryRun`` and ``changeThreshold`` (canonical: 25 and 25.0 are one value). The
    file name is not part of it: the same bytes under another name replay. Without a threshold the
    list is the previous release's ``[sha256, dryRun]``, so keys stored before it still replay."""
    fingerprint: list[Any] = [digest.hex(), form.dry_run]
    if form.change_threshold is not None:
        fingerprint.append(str(form.change_threshold))
    return fingerprint
