"""The planner's memory of the keys it has seen (duplicate keys in one file), exact and compact.

A Python ``set`` of str costs 60-100 bytes per key (the str object plus the table slot). That is
fine up to the product's file limit (10 MiB, about 130,000 users rows) and the fastest thing
there is, so a ``KeySet`` starts as one. Past ``spill_at`` keys it moves them into 16,384 byte
strings, one per hash bucket, each holding its keys as ``\\0key\\0key\\0`` (UTF-8): about the
key's length plus 1.1 bytes per key, and a membership test is one ``bytes.find`` of
``\\0key\\0`` in one bucket (exact, since a stored key holds no ``\\0``). A key that holds a NUL
character stays in the small set. So a file far over the limit (a presigned POST that S3 let
through, before the importer's size check) grows memory by its key bytes, not by 60-100 bytes
per key.
"""

from __future__ import annotations

from collections.abc import Sequence

SPILL_AT = 1 << 17
BUCKETS = 1 << 14
_SEP = b"\0"


class KeySet:
    """``add(key)`` is True for a new key and False for one seen before. Not thread-safe."""

    __slots__ = ("_buckets", "_spill_at", "_strings")

    def __init__(self, spill_at: int = SPILL_AT) -> None:
        self._strings: set[str] = set()
        self._buckets: list[bytearray] | None = None
        self._spill_at = spill_at

    @property
    def compact(self) -> bool:
        """Whether the keys have moved to the byte buckets."""
        return self._buckets is not None

    def add(self, key: str) -> bool:
        buckets = self._buckets
        if buckets is None:
            strings = self._strings
            if key in strings:
                return False
            strings.add(key)
            if len(strings) >= self._spill_at:
                self._spill()
            return True
        data = key.encode("utf-8", "surrogatepass")
        if 0 in data:
            if key in self._strings:
                return False
            self._strings.add(key)
            return True
        bucket = buckets[hash(key) & (BUCKETS - 1)]
        if bucket.find(_SEP + data + _SEP) >= 0:
            return False
        bucket += data
        bucket.append(0)
        return True

    def add_many(self, keys: Sequence[str]) -> list[bool]:
        """``[add(key) for key in keys]``, as one set union when every key is new and no spill is
        due (the common case of a planning batch)."""
        strings = self._strings
        if self._buckets is None and len(strings) + len(keys) < self._spill_at:
            fresh = set(keys)
            if len(fresh) == len(keys) and strings.isdisjoint(fresh):
                strings |= fresh
                return [True] * len(keys)
        return list(map(self.add, keys))

    def _spill(self) -> None:
        buckets = [bytearray(_SEP) for _ in range(BUCKETS)]
        kept: set[str] = set()
        for key in self._strings:
            data = key.encode("utf-8", "surrogatepass")
            if 0 in data:
                kept.add(key)
                continue
            bucket = buckets[hash(key) & (BUCKETS - 1)]
            bucket += data
            bucket.append(0)
        self._strings = kept
        self._buckets = buckets
