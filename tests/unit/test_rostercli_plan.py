"""`roster upload` picks its route by size and derives its idempotency key from the content, offline."""

from __future__ import annotations

import gzip
import os

import pytest

from rostercli.plan import DIRECT_BODY_LIMIT, KEY_PREFIX, Route, choose_route, idempotency_key, plan_upload


def never_called() -> int:
    raise AssertionError("gzip size computed although the plain body fits")


def test_small_file_goes_direct_without_compressing():
    assert choose_route(1_000, "users.csv", never_called) is Route.DIRECT


def test_file_just_under_the_body_limit_goes_direct_and_just_over_does_not():
    assert choose_route(DIRECT_BODY_LIMIT - 2_000, "u.csv", never_called) is Route.DIRECT
    assert choose_route(DIRECT_BODY_LIMIT, "u.csv", lambda: 10) is Route.GZIP


def test_large_file_that_compresses_below_the_limit_goes_gzip():
    assert choose_route(9 * 1024 * 1024, "users.csv", lambda: 1_500_000) is Route.GZIP


def test_large_file_that_does_not_compress_enough_goes_presigned():
    assert choose_route(9 * 1024 * 1024, "users.csv", lambda: 4_500_000) is Route.PRESIGNED


def test_plan_of_a_compressible_large_file_carries_a_gzip_part(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_bytes(b"group_name\n" + b"group-aaaaaaaaaaaaaaaaaaaaaaaa\n" * 200_000)

    upload = plan_upload(path)

    assert upload.route is Route.GZIP
    assert (upload.part_name, upload.part_type) == ("groups.csv.gz", "application/gzip")
    assert gzip.decompress(upload.payload) == path.read_bytes() == upload.csv


def test_plan_of_an_incompressible_large_file_is_presigned(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_bytes(b"group_name\n" + os.urandom(5_000_000).hex().encode())

    upload = plan_upload(path)

    assert upload.route is Route.PRESIGNED
    assert upload.payload == upload.csv


def test_gzipped_input_is_decompressed_before_planning(tmp_path):
    path = tmp_path / "users.csv.gz"
    path.write_bytes(gzip.compress(b"user_username\nx\n"))

    upload = plan_upload(path)

    assert (upload.route, upload.file_name, upload.csv) == (Route.DIRECT, "users.csv", b"user_username\nx\n")


def test_idempotency_key_is_stable_for_the_same_bytes_and_fits_the_header_limit():
    key = idempotency_key(b"a,b\n1,2\n", dry_run=False)

    assert key == idempotency_key(b"a,b\n1,2\n", dry_run=False)
    assert key.startswith(KEY_PREFIX) and len(key) <= 128


@pytest.mark.parametrize(("other", "dry_run"), [(b"a,b\n1,3\n", False), (b"a,b\n1,2\n", True)])
def test_idempotency_key_changes_with_content_or_dry_run(other, dry_run):
    assert idempotency_key(other, dry_run=dry_run) != idempotency_key(b"a,b\n1,2\n", dry_run=False)


def test_idempotency_key_changes_with_the_change_threshold():
    # The server answers the same key with another changeThreshold 409: a re-run with another
    # threshold is another request, and a key without a threshold stays what it was
    plain = idempotency_key(b"a,b\n1,2\n", dry_run=False)
    keys = {idempotency_key(b"a,b\n1,2\n", dry_run=False, change_threshold=t) for t in (0.0, 10.0, 12.5, 100.0)}
    assert len(keys) == 4 and plain not in keys
    assert idempotency_key(b"a,b\n1,2\n", dry_run=False, change_threshold=None) == plain
    assert all(len(key) <= 128 for key in keys)
