"""What to send for a file, decided without the network: the route by size, the part, the idempotency key.

A synchronous Lambda event is capped at 6,291,456 bytes and API Gateway base64-encodes a multipart body
(x 4/3), so the direct route carries about 4.7 MB of raw body; ``DIRECT_BODY_LIMIT`` keeps a margin for the
headers (the bearer token) and the rest of the event.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DIRECT_BODY_LIMIT = 4_400_000
MULTIPART_OVERHEAD = 1_024  # boundaries, part headers and the dryRun field, besides the file name
KEY_PREFIX = "roster-v1-sha256-"


class Route(StrEnum):
    DIRECT = "direct"
    GZIP = "gzip"
    PRESIGNED = "presigned"


def multipart_size(payload_size: int, file_name: str) -> int:
    """An upper bound of the multipart body carrying a part of ``payload_size`` bytes."""
    return payload_size + MULTIPART_OVERHEAD + 3 * len(file_name.encode("utf-8"))


def choose_route(csv_size: int, file_name: str, gzip_size: Callable[[], int]) -> Route:
    """Direct when the body fits the event cap, gzip when compressing makes it fit, else the presigned POST.

    ``gzip_size`` is only called when the plain body does not fit (compressing 10 MB takes a moment).
    """
    if multipart_size(csv_size, file_name) <= DIRECT_BODY_LIMIT:
        return Route.DIRECT
    if multipart_size(gzip_size(), file_name + ".gz") <= DIRECT_BODY_LIMIT:
        return Route.GZIP
    return Route.PRESIGNED


def idempotency_key(csv: bytes, *, dry_run: bool, change_threshold: float | None = None) -> str:
    """Derived from the decompressed bytes, so a re-run of the same job (a retried cron) is not imported twice.

    The dry-run flag is part of the key: a dry run followed by the real upload of the same file must import.
    So is the change threshold (the server answers the same key with another threshold 409); without one the
    key is what it always was.
    """
    mode = "dry-" if dry_run else ""
    hold = "" if change_threshold is None else f"t{change_threshold:g}-"
    return f"{KEY_PREFIX}{mode}{hold}{hashlib.sha256(csv).hexdigest()}"


@dataclass(frozen=True)
class Upload:
    """One file ready to send: ``csv`` is the CSV itself, ``payload`` what goes in the ``file`` part."""

    file_name: str
    csv: bytes
    route: Route
    part_name: str
    part_type: str
    payload: bytes


def plan_upload(path: Path) -> Upload:
    """Read ``path`` (a ``.csv``, or a ``.csv.gz`` which is decompressed first) and pick its route."""
    data = path.read_bytes()
    name = path.name
    if name.lower().endswith(".gz"):
        data = gzip.decompress(data)
        name = name[:-3]
    compressed: list[bytes] = []

    def gzip_size() -> int:
        compressed.append(gzip.compress(data, compresslevel=6, mtime=0))
        return len(compressed[0])

    route = choose_route(len(data), name, gzip_size)
    if route is Route.GZIP:
        return Upload(name, data, route, name + ".gz", "application/gzip", compressed[0])
    return Upload(name, data, route, name, "text/csv", data)
