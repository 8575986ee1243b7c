"""changeThreshold parsing: what both upload routes and the tenant command accept."""

from decimal import Decimal

import pytest

from lambdas.jobs.hold import parse_threshold


def test_a_threshold_too_small_for_a_dynamodb_number_is_kept_to_four_decimals() -> None:
    # Given a JSON number below DynamoDB's smallest (1E-130), as the API fuzzer sent
    # When it is parsed
    value = parse_threshold(2.6260361504039494e-147)
    # Then it is a storable percentage
    assert value == Decimal("0.0000")


@pytest.mark.parametrize(("raw", "expected"), [("25", Decimal("25.0000")), (12.5, Decimal("12.5000")), (None, None)])
def test_thresholds_parse_to_a_percentage(raw: object, expected: Decimal | None) -> None:
    assert parse_threshold(raw) == expected
