"""An upload's S3 metadata reads back as it was written (the importer rebuilds a lost job from it),
the change threshold included; a value written around the service holds every change."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lambdas.jobs.hold import parse_threshold
from lambdas.jobs.objects import UploadMetadata


@pytest.mark.parametrize("threshold", [None, "0", "12.5", "25", "100", "0.0001"])
def test_metadata_round_trips_through_s3_names(threshold: str | None) -> None:
    written = UploadMetadata(
        tenant="tenant-a",
        file_name="Liste élèves 100%.csv",
        dry_run=True,
        source="presigned",
        sha256="ab" * 32,
        change_threshold=parse_threshold(threshold),
    )
    s3 = written.as_s3()
    assert all(value.isascii() for value in s3.values())
    # S3 returns user metadata names lower-cased; a client may send them in any case
    assert UploadMetadata.from_s3(s3) == written
    assert UploadMetadata.from_s3({name.upper(): value for name, value in s3.items()}) == written
    assert ("changethreshold" in s3) is (threshold is not None)


def test_metadata_of_a_foreign_write_reads_as_empty() -> None:
    assert UploadMetadata.from_s3({}) == UploadMetadata(tenant="", file_name="", dry_run=False, source="direct")


@pytest.mark.parametrize("raw", ["lots", "150", "-1", "NaN"])
def test_an_unreadable_stored_threshold_holds_every_change(raw: str) -> None:
    assert UploadMetadata.from_s3({"tenant": "t", "changethreshold": raw}).change_threshold == Decimal(0)
