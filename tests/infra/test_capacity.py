"""The importer's size and concurrency come from one model (docs/INFRA.md "Capacity"): scrypt cost per
core x rows per chunk vs the timeout, and a night of 1,000 tenants vs a 2-hour window."""

from __future__ import annotations

from infra import constants as c
from lambdas.roster.passwords import PasswordHasher


def vcpus(memory_mb: int) -> float:
    return memory_mb / c.LAMBDA_MB_PER_VCPU


def test_the_hashing_threads_each_get_a_core_and_match_the_hasher() -> None:
    assert PasswordHasher().workers == c.HASH_THREADS
    assert vcpus(c.IMPORTER.memory_mb) >= c.HASH_THREADS


def test_a_chunk_of_password_rows_hashes_in_a_third_of_the_timeout() -> None:
    rows = c.SETTINGS_DEFAULTS.import_chunk_rows
    hashing = rows * c.HASH_SECONDS_PER_CORE / min(c.HASH_THREADS, vcpus(c.IMPORTER.memory_mb))
    assert hashing * 3 <= c.IMPORTER.timeout.to_seconds()  # room for the DynamoDB writes and a slow start


def test_a_night_of_one_thousand_tenants_hashes_within_half_the_window() -> None:
    core_seconds = c.NIGHT_PASSWORD_ROWS * c.HASH_SECONDS_PER_CORE
    wall = core_seconds / (c.IMPORT_MAX_CONCURRENCY * c.HASH_THREADS)
    assert wall <= c.NIGHT_WINDOW.to_seconds() / 2
    assert (c.NIGHT_PASSWORD_ROWS, c.IMPORT_MAX_CONCURRENCY, c.IMPORTER.memory_mb) == (5_000_000, 50, 3584)
