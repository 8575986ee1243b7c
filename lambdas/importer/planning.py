"""The planning pass: stream the stored CSV from S3 once, detect the template from its header,
check every row, and cut the rows into chunks. Memory holds one chunk at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import IO

from lambdas.importer.chunks import ChunkItem, PlannerLike, StartPlanner
from lambdas.roster.codes import Code
from lambdas.roster.contract import FileRejected, Issue, PlannedRow

# File-level codes of the pipeline itself (catalogued with every other in lambdas/roster/codes.py).
INVALID_ENCODING = Code.INVALID_ENCODING
MALFORMED_CSV = Code.MALFORMED_CSV
MISSING_HEADER = Code.MISSING_HEADER

# Organizations are applied in file order in one piece: a parent may be any earlier row.
UNSPLIT_TEMPLATES = frozenset({"organizations"})
# Records read and checked at once.
BATCH_ROWS = 2048


class _Records:
    """The CSV records of a stream, read a batch at a time into (row numbers, cells): row =
    spreadsheet line (header = 1; a quoted newline does not start a new row); blank lines are
    skipped. Undecodable or malformed CSV is a ``FileRejected``."""

    __slots__ = ("_read", "_reader")

    def __init__(self, stream: IO[bytes]) -> None:
        self._reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), strict=True)
        self._read = 0  # records read so far, blank ones included

    def take(self, limit: int) -> tuple[Sequence[int], list[list[str]], Exception | None, bool]:
        """The next ``limit`` records (fewer at the end of the file): their rows and cells, the
        error that stopped the read early (raise it after using the records before it), and
        whether more may follow."""
        cells: list[list[str]] = []
        error: Exception | None = None
        try:
            cells.extend(islice(self._reader, limit))  # on an error, the records before it stay
        except UnicodeDecodeError as decode:
            error = FileRejected(Issue(0, None, INVALID_ENCODING, "The file is not UTF-8 text."))
            error.__cause__ = decode
        except csv.Error as malformed:
            # A file-level error (row 0, docs/IMPORT.md); the message names the spreadsheet line.
            line = self._read + len(cells) + 1
            error = FileRejected(Issue(0, None, MALFORMED_CSV, f"The CSV is malformed at line {line}: {malformed}."))
            error.__cause__ = malformed
        except Exception as other:  # e.g. the S3 body: after the rows before it, as row by row
            error = other
        first = self._read + 1
        self._read += len(cells)
        more = error is None and len(cells) == limit
        if all(cells):
            return range(first, first + len(cells)), cells, error, more
        rows = [first + k for k, record in enumerate(cells) if record]
        return rows, [record for record in cells if record], error, more


def records(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """``(row, cells)`` per CSV record, row = spreadsheet line (header = 1; a quoted newline does
    not start a new row). Blank lines are skipped. Undecodable or malformed CSV raises
    ``FileRejected``."""
    reader = _Records(stream)
    more = True
    while more:
        rows, cells, error, more = reader.take(BATCH_ROWS)
        yield from zip(rows, cells, strict=True)
        if error is not None:
            raise error


def plan(
    stream: IO[bytes], start_planner: StartPlanner, *, seed: str, chunk_rows: int
) -> tuple[PlannerLike, Iterator[list[ChunkItem]]]:
    """Start the planner on the header, then yield chunks of at most ``chunk_rows`` planned rows
    (plus the rejected rows between them). A header-only file yields one empty chunk.
    ``FileRejected`` may come from the header or, while iterating, from a later line."""
    reader = _Records(stream)
    more = True
    rows: Sequence[int] = ()
    header: list[list[str]] = []
    while more and not rows:  # the first record that is not blank
        rows, header, error, more = reader.take(1)
        if error is not None:
            raise error
    if not rows or rows[0] != 1:
        raise FileRejected(Issue(1, None, MISSING_HEADER, "The file has no header row."))
    planner = start_planner(header[0], seed=seed)
    limit = None if planner.template in UNSPLIT_TEMPLATES else chunk_rows
    return planner, _chunks(planner, reader, limit)


def _chunks(planner: PlannerLike, reader: _Records, limit: int | None) -> Iterator[list[ChunkItem]]:
    chunk: list[ChunkItem] = []
    planned = 0
    more = True
    while more:
        items, more, error = _checked_batch(planner, reader)
        if limit is None:
            chunk += items
        elif not set(map(type, items)) <= {PlannedRow}:
            for item in items:
                if not isinstance(item, Issue):
                    if planned == limit:
                        yield chunk
                        chunk, planned = [], 0
                    planned += 1
                chunk.append(item)
        else:  # planned rows only: cut by slices
            start, end = 0, len(items)
            while start < end:
                if planned == limit:
                    yield chunk
                    chunk, planned = [], 0
                taken = min(limit - planned, end - start)
                chunk += items[start : start + taken]
                planned += taken
                start += taken
        if error is not None:
            raise error  # after the chunks of the rows before it, as row by row
    yield chunk


def _checked_batch(planner: PlannerLike, reader: _Records) -> tuple[list[ChunkItem], bool, Exception | None]:
    """The next ``BATCH_ROWS`` records, checked; whether more may follow; the error that cut the
    batch short, if any."""
    rows, cells, error, more = reader.take(BATCH_ROWS)
    items: list[ChunkItem] = planner.check_rows(rows, cells)
    return items, more, error
