"""Reading the upload form from an API Gateway HTTP API body, streaming and with one copy.

The base64 body is decoded in slices and pushed through ``multipart``'s ``PushMultipartParser``
(fast, and it raises on a cut-off body); the ``file`` part is written straight into one
``bytearray``, decompressing on the way when it is gzip, with ``max_bytes`` applied to the
decompressed size so a decompression bomb costs at most ``max_bytes`` of work.
"""

from __future__ import annotations

import binascii
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from lambdas.common.errors import EmptyFile, InvalidFileType, MalformedRequest, MissingFile
from lambdas.intake.content import check_csv_size
from lambdas.jobs.hold import FIELD as CHANGE_THRESHOLD_FIELD
from lambdas.jobs.hold import parse_threshold

FILE_FIELD = "file"
DRY_RUN_FIELD = "dryRun"
B64_SLICE = 1 << 18  # characters of base64 decoded at a time (a multiple of 4)
TEXT_FIELDS = frozenset({DRY_RUN_FIELD, CHANGE_THRESHOLD_FIELD})
MAX_PARTS = 32
MAX_FIELD_BYTES = 1024
MAX_FILE_NAME = 255
CSV_SUFFIXES = (".csv", ".csv.gz")
CSV_TYPES = frozenset({"text/csv"})
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/gzip-compressed"})


@dataclass(slots=True)
class UploadForm:
    file_name: str
    content: bytearray  # the CSV bytes, decompressed
    compressed: bool
    dry_run: bool
    change_threshold: Decimal | None = None


def read_upload_form(
    body: str | bytes | None, *, is_base64: bool, content_type: str | None, max_bytes: int
) -> UploadForm:
    boundary = _boundary(content_type)
    try:
        parser = PushMultipartParser(boundary, max_segment_count=MAX_PARTS)
    except MultipartError as error:
        raise MalformedRequest(f"The multipart boundary is invalid ({error}).") from None
    raw_size = len(body or "") * 3 // 4 if is_base64 else len(body or "")
    reader = _FormReader(max_bytes, size_hint=raw_size)
    try:
        for chunk in _body_chunks(body, is_base64):
            for event in parser.parse(chunk):
                reader.on_event(event)
        parser.close()
    except MultipartError as error:
        raise MalformedRequest(f"The multipart/form-data body is broken or cut off ({error}).") from None
    return reader.finish()


def _boundary(content_type: str | None) -> str:
    media_type, options = parse_options_header(content_type or "")
    if media_type != "multipart/form-data":
        raise MalformedRequest(
            "The request body must be multipart/form-data with the CSV in a part named 'file' "
            f"(got Content-Type {media_type or 'none'!r})."
        )
    boundary = options.get("boundary")
    if not boundary:
        raise MalformedRequest("The Content-Type header has no multipart boundary.")
    return str(boundary)


def _body_chunks(body: str | bytes | None, is_base64: bool) -> Iterator[bytes]:
    if not body:
        return
    if not is_base64:
        yield body.encode("utf-8") if isinstance(body, str) else body
        return
    for start in range(0, len(body), B64_SLICE):
        try:
            yield binascii.a2b_base64(body[start : start + B64_SLICE])
        except (binascii.Error, ValueError):
            raise MalformedRequest("The request body is not valid base64.") from None


class _FileSink:
    """Collects the ``file`` part, decompressing gzip while streaming, within ``max_bytes``."""

    def __init__(self, segment: MultipartSegment, max_bytes: int, size_hint: int) -> None:
        self.name = clean_file_name(segment.filename)
        lowered = self.name.lower()
        part_type = (segment.content_type or "").lower()
        if not lowered.endswith(CSV_SUFFIXES) and part_type not in CSV_TYPES:
            raise InvalidFileType(
                f"The file {self.name!r} is not a CSV file: name it .csv (or .csv.gz) or send it as text/csv."
            )
        self.compressed = lowered.endswith(".gz") or part_type in GZIP_TYPES
        self.max_bytes = max_bytes
        self.received = 0
        self._inflater = zlib.decompressobj(wbits=31) if self.compressed else None
        # A plain part is at most the body: reserve that once (capped) instead of growing by copies.
        self.content = bytearray() if self.compressed else bytearray(min(size_hint, max_bytes + 1))

    def write(self, chunk: bytes) -> None:
        start = self.received
        self.received += len(chunk)
        if self._inflater is None:
            self.content[start : self.received] = chunk
        else:
            self._inflate(chunk)
        check_csv_size(self.size, self.max_bytes, compressed=self.compressed)

    @property
    def size(self) -> int:
        return len(self.content) if self.compressed else self.received

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        try:
            while data and len(self.content) <= self.max_bytes:
                if self._inflater.eof:  # a further gzip member follows
                    self._inflater = zlib.decompressobj(wbits=31)
                room = self.max_bytes + 1 - len(self.content)
                self.content += self._inflater.decompress(data, room)
                data = self._inflater.unconsumed_tail or self._inflater.unused_data
        except zlib.error:
            raise InvalidFileType(f"The file {self.name!r} is declared gzip but is not valid gzip data.") from None

    def close(self) -> None:
        if self._inflater is None:
            del self.content[self.received :]
        elif self.received and not self._inflater.eof:
            raise InvalidFileType(f"The gzip file {self.name!r} is cut off: send the complete file.")


class _FieldSink:
    def __init__(self) -> None:
        self.value = bytearray()

    def write(self, chunk: bytes) -> None:
        self.value += chunk
        if len(self.value) > MAX_FIELD_BYTES:
            raise MalformedRequest(f"A form field is longer than {MAX_FIELD_BYTES} bytes.")


class _FormReader:
    def __init__(self, max_bytes: int, size_hint: int) -> None:
        self.max_bytes = max_bytes
        self.size_hint = size_hint
        self.file: _FileSink | None = None
        self.fields: dict[str, _FieldSink] = {}
        self._sink: _FileSink | _FieldSink | None = None

    def on_event(self, event: MultipartSegment | bytes | None) -> None:
        if isinstance(event, MultipartSegment):
            self._sink = self._open(event)
        elif event is None:
            if isinstance(self._sink, _FileSink):
                self._sink.close()
            self._sink = None
        elif self._sink is not None:
            self._sink.write(event)

    def _open(self, segment: MultipartSegment) -> _FileSink | _FieldSink | None:
        if segment.name == FILE_FIELD:
            if self.file is not None:
                raise MalformedRequest("The form has several 'file' parts: send one file per request.")
            self.file = _FileSink(segment, self.max_bytes, self.size_hint)
            return self.file
        if segment.name in TEXT_FIELDS:
            if segment.name in self.fields:
                raise MalformedRequest(f"The form has several {segment.name!r} fields.")
            sink = self.fields[segment.name] = _FieldSink()
            return sink
        return None  # other fields are ignored, as a form handler would

    def finish(self) -> UploadForm:
        if self.file is None:
            raise MissingFile("The form has no part named 'file': send the CSV as --form 'file=@users.csv'.")
        if not self.file.content:
            raise EmptyFile(f"The file {self.file.name!r} is empty: send a CSV file with a header row.")
        return UploadForm(
            file_name=self.file.name,
            content=self.file.content,
            compressed=self.file.compressed,
            dry_run=self._dry_run(),
            change_threshold=parse_threshold(self._text(CHANGE_THRESHOLD_FIELD)),
        )

    def _text(self, name: str) -> str | None:
        sink = self.fields.get(name)
        return None if sink is None else sink.value.decode("utf-8", errors="replace").strip()

    def _dry_run(self) -> bool:
        text = self._text(DRY_RUN_FIELD)
        if text is None:
            return False
        value = text.lower()
        if value not in ("true", "false"):
            raise MalformedRequest(f"The dryRun field must be 'true' or 'false', not {value!r}.")
        return value == "true"


def clean_file_name(raw: str | None) -> str:
    """The client's file name for display and metadata only (never part of an object key): the
    last path component, without control characters, at most 255 characters and 255 bytes of
    UTF-8 (its end kept, so the extension stays; URL-quoted it stays far below S3's 2 KB of user
    metadata). The upload form's part name and the presigned route's ``fileName`` both go through
    here."""
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable())[-MAX_FILE_NAME:]
    while len(name.encode()) > MAX_FILE_NAME:
        name = name[1:]
    return name
