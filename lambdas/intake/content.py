"""Is this CSV? Checks of the (decompressed) file content, in one pass and without a copy.

The upload route only refuses what is not CSV text at all (openapi.yaml: NUL bytes, binary
magic, not UTF-8, a header row that does not parse) or too big. Everything about columns and rows
is the importer's business, so that a file is judged by one set of rules.

A file sent by presigned POST reaches storage without passing the route: the importer runs the
very same checks on it (``check_stored_csv``) before planning, so that what the route answers
413/415 ends ``FAILED`` with that code.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import IO

from lambdas.common.errors import EmptyFile, FileTooLarge, InvalidFileType

DECODE_CHUNK = 1 << 18
HEADER_LIMIT = 64 * 1024

# Leading bytes of formats that are sometimes renamed to .csv by mistake.
BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.xls)"),
    (b"\x1f\x8b", "gzip-compressed data (name it .csv.gz or send it with Content-Type application/gzip)"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"BZh", "bzip2-compressed data"),
)


def check_csv_size(size: int, max_bytes: int, *, compressed: bool = False) -> None:
    """Raise ``FileTooLarge`` when the CSV (decompressed) has more than ``max_bytes`` bytes."""
    if size > max_bytes:
        raise FileTooLarge(
            f"The CSV file is larger than {max_bytes} bytes{' once decompressed' if compressed else ''}: "
            "split it into smaller files."
        )


def check_stored_csv(body: IO[bytes], size: int, max_bytes: int) -> None:
    """The upload route's checks of a file that reached storage another way (a presigned POST):
    its size, then its content (read whole: it is at most ``max_bytes``)."""
    check_csv_size(size, max_bytes)
    check_csv_content(body.read(max_bytes + 1))


def check_csv_content(content: bytes | bytearray) -> None:
    """Raise ``EmptyFile`` or ``InvalidFileType`` unless ``content`` is UTF-8 CSV text with a header row."""
    if not content:
        raise EmptyFile("The uploaded file is empty: send a CSV file with a header row.")
    for magic, what in BINARY_MAGIC:
        if content.startswith(magic):
            raise InvalidFileType(f"The uploaded file is {what}, not a CSV file.")
    if content.find(b"\x00") != -1:
        raise InvalidFileType("The uploaded file contains NUL bytes: it is binary, not a UTF-8 CSV file.")
    _check_utf8(content)
    _check_header(content)


def _check_utf8(content: bytes | bytearray) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    fed = 0
    try:
        for start in range(0, len(view), DECODE_CHUNK):
            chunk = view[start : start + DECODE_CHUNK]
            fed = start + len(chunk)
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        # error.object is what the decoder saw: bytes it held back plus the chunk, ending at ``fed``.
        position = fed - len(error.object) + error.start
        raise InvalidFileType(
            f"The uploaded file is not UTF-8 text (invalid byte at offset {position}): save it as CSV UTF-8."
        ) from None


def _check_header(content: bytes | bytearray) -> None:
    head = bytes(content[:HEADER_LIMIT]).decode("utf-8-sig", errors="ignore")
    reader = csv.reader(io.StringIO(head, newline=""), strict=True)
    try:
        header = next(reader, None)
        # When the file goes on past the prefix, the header record must end on a line break inside it.
        complete = len(content) <= HEADER_LIMIT or reader.line_num <= head.count("\n")
    except csv.Error as error:
        raise InvalidFileType(f"The header row of the uploaded file does not parse as CSV ({error}).") from None
    if header is None or not complete:
        raise InvalidFileType("The uploaded file has no complete CSV header row in its first 64 KiB.")
