"""The uploads bucket as the import sees it: a job's source file, its chunk files and its report.

Key layout (``lambdas.common.config``): ``pending/<ref>.csv`` until the import ends, then
``processed/`` or ``failed/``; ``chunks/<ref>/<n>.jsonl`` (planned rows) and
``chunks/<ref>/<n>.result.<attempt>.jsonl`` (outcomes) while it runs; ``results/<ref>.csv``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import IO, Any, Literal
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

from lambdas.common.config import CHUNKS_PREFIX, FAILED_PREFIX, PENDING_PREFIX, PROCESSED_PREFIX, RESULTS_PREFIX
from lambdas.common.errors import MalformedRequest
from lambdas.common.observability import logger
from lambdas.common.s3client import s3_client
from lambdas.jobs.hold import parse_threshold

Place = Literal["pending", "processed", "failed"]
PLACES: dict[Place, str] = {"pending": PENDING_PREFIX, "processed": PROCESSED_PREFIX, "failed": FAILED_PREFIX}


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadMetadata:
    """S3 user metadata of an upload: what the importer needs to account for it even if the job
    record is missing. The one place its names are spelled: the upload route writes them, the
    presigned POST's policy pins each as an exact condition, the importer reads them. ASCII only,
    as S3 requires: the file name is URL-quoted."""

    tenant: str
    file_name: str
    dry_run: bool
    source: str
    sha256: str | None = None
    change_threshold: Decimal | None = None  # the upload's changeThreshold (four decimals)

    def as_s3(self) -> dict[str, str]:
        metadata = {
            "tenant": self.tenant,
            "filename": quote(self.file_name, safe=""),
            "dryrun": "true" if self.dry_run else "false",
            "source": self.source,
        }
        if self.sha256:
            metadata["sha256"] = self.sha256
        if self.change_threshold is not None:
            metadata["changethreshold"] = str(self.change_threshold)
        return metadata

    @classmethod
    def from_s3(cls, raw: Mapping[str, str]) -> UploadMetadata:
        """What ``as_s3`` wrote (names compared case-blind, as S3 treats them); a name that is
        absent reads as empty, false or None."""
        metadata = {name.lower(): value for name, value in raw.items()}
        return cls(
            tenant=metadata.get("tenant", ""),
            file_name=unquote(metadata.get("filename", "")),
            dry_run=metadata.get("dryrun", "false").lower() == "true",
            source=metadata.get("source", "direct"),
            sha256=metadata.get("sha256") or None,
            change_threshold=_stored_threshold(metadata.get("changethreshold")),
        )


def _stored_threshold(raw: str | None) -> Decimal | None:
    """Our own writes are valid (a presigned POST cannot change them: the policy pins the value).
    Anything else was written around the service; it holds every change rather than none."""
    try:
        return parse_threshold(raw)
    except MalformedRequest:
        logger.error("unreadable changeThreshold in an upload's metadata: every change is held", value=str(raw)[:40])
        return Decimal(0)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A stored upload and what its metadata says (``tenant`` is None when absent)."""

    place: Place
    size: int
    metadata: UploadMetadata

    @property
    def tenant(self) -> str | None:
        return self.metadata.tenant or None


def source_key(reference_id: str, place: Place = "pending") -> str:
    """The one place an upload's key is spelled: ``import-csv/<place>/<ref>.csv``."""
    return f"{PLACES[place]}{reference_id}{_SOURCE_SUFFIX}"


def pending_reference(key: str) -> str | None:
    """The reference id of a pending upload's key; None for any other key."""
    found = _PENDING_KEY.fullmatch(key)
    return found.group(1) if found else None


_SOURCE_SUFFIX = ".csv"
_PENDING_KEY = re.compile(re.escape(PENDING_PREFIX) + r"([^/]+)" + re.escape(_SOURCE_SUFFIX))


def report_key(reference_id: str) -> str:
    return f"{RESULTS_PREFIX}{reference_id}.csv"


def _is_missing(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}


class JobFiles:
    def __init__(self, bucket_name: str, *, client: Any = None) -> None:
        self._bucket = bucket_name
        self._s3 = client or s3_client()

    # -- the source file -------------------------------------------------------------------
    def find_source(self, reference_id: str) -> SourceFile | None:
        """Where the upload is now (pending, else processed, else failed), or None."""
        for place in PLACES:
            head = self._head(source_key(reference_id, place))
            if head is not None:
                metadata = UploadMetadata.from_s3(head.get("Metadata", {}))
                if not metadata.file_name:
                    metadata = replace(metadata, file_name=f"{reference_id}.csv")
                return SourceFile(place=place, size=int(head["ContentLength"]), metadata=metadata)
        return None

    def pending_exists(self, reference_id: str) -> bool:
        return self._head(source_key(reference_id)) is not None

    def open_pending(self, reference_id: str) -> IO[bytes]:
        body: IO[bytes] = self._s3.get_object(Bucket=self._bucket, Key=source_key(reference_id))["Body"]
        return body

    def move_source(self, reference_id: str, to: Place) -> None:
        """Copy, then delete: safe to repeat after a crash between the two."""
        pending, target = source_key(reference_id), source_key(reference_id, to)
        if self._head(pending) is None:
            return
        self._s3.copy_object(
            Bucket=self._bucket,
            Key=target,
            CopySource={"Bucket": self._bucket, "Key": pending},
            MetadataDirective="COPY",
        )
        self._s3.delete_object(Bucket=self._bucket, Key=pending)

    def move_object(self, key: str, to: Place) -> str:
        """Move any object (an upload no job can own) under ``to``; returns the new key."""
        target = PLACES[to] + key.rsplit("/", 1)[-1]
        self._s3.copy_object(Bucket=self._bucket, Key=target, CopySource={"Bucket": self._bucket, "Key": key})
        self._s3.delete_object(Bucket=self._bucket, Key=key)
        return target

    # -- chunk files -----------------------------------------------------------------------
    def put_chunk(self, reference_id: str, chunk: int, records: Iterable[Mapping[str, Any]]) -> None:
        self._put_lines(f"{CHUNKS_PREFIX}{reference_id}/{chunk}.jsonl", records)

    def read_chunk(self, reference_id: str, chunk: int) -> Iterator[dict[str, Any]]:
        return self._read_lines(f"{CHUNKS_PREFIX}{reference_id}/{chunk}.jsonl")

    def put_chunk_result(
        self, reference_id: str, chunk: int, attempt: str, records: Iterable[Mapping[str, Any]]
    ) -> str:
        """Each attempt writes its own result object; the chunk marker names the one that counts."""
        key = f"{CHUNKS_PREFIX}{reference_id}/{chunk}.result.{attempt}.jsonl"
        self._put_lines(key, records)
        return key

    def read_chunk_result(self, key: str) -> Iterator[dict[str, Any]]:
        return self._read_lines(key)

    def delete_chunks(self, reference_id: str) -> None:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=f"{CHUNKS_PREFIX}{reference_id}/"):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})

    # -- the result report -----------------------------------------------------------------
    def put_report(self, reference_id: str, body: IO[bytes]) -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=report_key(reference_id), Body=body, ContentType="text/csv; charset=utf-8"
        )

    def report_exists(self, reference_id: str) -> bool:
        return self._head(report_key(reference_id)) is not None

    def report_url(self, reference_id: str, *, expires_in: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": report_key(reference_id),
                "ResponseContentDisposition": f'attachment; filename="{reference_id}-result.csv"',
                "ResponseContentType": "text/csv; charset=utf-8",
            },
            ExpiresIn=expires_in,
        )
        return url

    # -- helpers ---------------------------------------------------------------------------
    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                return None
            raise
        return head

    def _put_lines(self, key: str, records: Iterable[Mapping[str, Any]]) -> None:
        body = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/x-ndjson")

    def _read_lines(self, key: str) -> Iterator[dict[str, Any]]:
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
        for line in body.iter_lines():
            if line:
                yield json.loads(line)
