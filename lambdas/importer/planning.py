"""The planning pass: stream the stored CSV from S3 once, detect the template from its header,
check every row, and cut the rows into chunks. Memory holds one chunk at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

from lambdas.importer.chunks import ChunkItem, PlannerLike, StartPlanner
from lambdas.roster.contract import FileRejected, Issue

# File-level codes of the pipeline itself (the roster rules own the header codes).
INVALID_ENCODING = "INVALID_ENCODING"
MALFORMED_CSV = "MALFORMED_CSV"
MISSING_HEADER = "MISSING_HEADER"
FILE_TOO_LARGE = "FILE_TOO_LARGE"

# Organizations are applied in file order in one piece: a parent may be any earlier row.
UNSPLIT_TEMPLATES = frozenset({"organizations"})


def records(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """``(row, cells)`` per CSV record, row = spreadsheet line (header = 1; a quoted newline does
    not start a new row). Blank lines are skipped. Undecodable or malformed CSV raises
    ``FileRejected``."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    row = 0
    try:
        for cells in reader:
            row += 1
            if cells:
                yield row, cells
    except UnicodeDecodeError as error:
        raise FileRejected(Issue(0, None, INVALID_ENCODING, "The file is not UTF-8 text.")) from error
    except csv.Error as error:
        raise FileRejected(Issue(row + 1, None, MALFORMED_CSV, f"The CSV is malformed: {error}.")) from error


def plan(
    stream: IO[bytes], start_planner: StartPlanner, *, seed: str, chunk_rows: int
) -> tuple[PlannerLike, Iterator[list[ChunkItem]]]:
    """Start the planner on the header, then yield chunks of at most ``chunk_rows`` planned rows
    (plus the rejected rows between them). A header-only file yields one empty chunk.
    ``FileRejected`` may come from the header or, while iterating, from a later line."""
    rows = records(stream)
    first = next(rows, None)
    if first is None or first[0] != 1:
        raise FileRejected(Issue(1, None, MISSING_HEADER, "The file has no header row."))
    planner = start_planner(first[1], seed=seed)
    limit = None if planner.template in UNSPLIT_TEMPLATES else chunk_rows
    return planner, _chunks(planner, rows, limit)


def _chunks(
    planner: PlannerLike, rows: Iterator[tuple[int, list[str]]], limit: int | None
) -> Iterator[list[ChunkItem]]:
    chunk: list[ChunkItem] = []
    planned = 0
    for row, cells in rows:
        item = planner.check(row, cells)
        if not isinstance(item, Issue):
            if planned == limit:
                yield chunk
                chunk, planned = [], 0
            planned += 1
        chunk.append(item)
    yield chunk
