"""Settings are read once at cold start and fail there: no name falls back to a local default."""

from __future__ import annotations

import pytest

from lambdas.common.config import ConfigurationError, Env, Settings


def test_a_required_name_missing_from_the_environment_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigurationError, match="BUCKET_NAME, JOBS_TABLE_NAME"):
        Settings.from_env({Env.EVENT_BUS_NAME: "bus"}, require=(Env.JOBS_TABLE_NAME, Env.BUCKET_NAME))


def test_an_empty_required_name_counts_as_missing():
    with pytest.raises(ConfigurationError, match="TOKEN_ENDPOINT_URL"):
        Settings.from_env({Env.TOKEN_ENDPOINT_URL: ""}, require=(Env.TOKEN_ENDPOINT_URL,))


def test_resource_names_never_default_to_the_local_stack_s():
    settings = Settings.from_env({})

    assert (settings.bucket_name, settings.jobs_table, settings.roster_table) == ("", "", "")
    assert (settings.idempotency_table, settings.event_bus_name, settings.import_queue_url) == ("", "", "")


def test_names_given_are_read():
    settings = Settings.from_env(
        {Env.BUCKET_NAME: "b", Env.JOBS_TABLE_NAME: "j"}, require=(Env.BUCKET_NAME, Env.JOBS_TABLE_NAME)
    )

    assert (settings.bucket_name, settings.jobs_table) == ("b", "j")


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1.5"])
def test_a_number_that_is_not_a_positive_integer_is_a_configuration_error(raw: str):
    with pytest.raises(ConfigurationError, match="IMPORT_CHUNK_ROWS"):
        Settings.from_env({Env.IMPORT_CHUNK_ROWS: raw})


def test_numbers_not_given_keep_their_documented_defaults():
    assert Settings.from_env({}).import_chunk_rows == Settings().import_chunk_rows == 2000
