"""`roster` settings: flags, then ROSTER_* variables, then the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rostercli.config import DEFAULT_API_URL, ConfigError, resolve

NO_FLAGS: dict[str, str | None] = {"api_url": None, "client_id": None, "client_secret": None}


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return {"ROSTER_CONFIG": str(path), "ROSTER_CACHE_DIR": str(tmp_path / "cache")}


def test_flag_wins_over_environment_and_environment_over_config_file(tmp_path):
    # Given all three sources, each with its own values
    env = write_config(tmp_path, 'api_url = "http://file"\nclient_id = "file-id"\nclient_secret = "file-secret"\n')
    env |= {"ROSTER_API_URL": "http://env", "ROSTER_CLIENT_ID": "env-id"}
    flags = {**NO_FLAGS, "api_url": "http://flag"}

    # When the settings are resolved
    settings = resolve(flags, env)

    # Then each comes from the first source that has it
    assert settings.api_url == "http://flag"
    assert settings.client_id == "env-id"
    assert settings.client_secret == "file-secret"


def test_config_file_alone_is_enough_and_trailing_slash_is_dropped(tmp_path):
    env = write_config(tmp_path, 'api_url = "https://api.example/"\nclient_id = "c"\nclient_secret = "s"\n')

    settings = resolve(NO_FLAGS, env)

    assert (settings.api_url, settings.client_id, settings.client_secret) == ("https://api.example", "c", "s")
    assert settings.cache_dir == tmp_path / "cache"


def test_default_config_file_is_under_home_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".config" / "roster").mkdir(parents=True)
    (tmp_path / ".config" / "roster" / "config.toml").write_text('client_id = "c"\nclient_secret = "s"\n')

    settings = resolve(NO_FLAGS, {"HOME": str(tmp_path)})

    assert settings.client_id == "c"
    assert settings.api_url == DEFAULT_API_URL
    assert settings.cache_dir == tmp_path / ".cache" / "roster"


def test_missing_secret_names_the_variable_to_set(tmp_path):
    env = write_config(tmp_path, 'client_id = "c"\n')

    with pytest.raises(ConfigError, match="ROSTER_CLIENT_SECRET"):
        resolve(NO_FLAGS, env)


def test_config_file_named_by_roster_config_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(NO_FLAGS, {"ROSTER_CONFIG": str(tmp_path / "absent.toml")})


def test_broken_config_file_error_does_not_echo_its_values(tmp_path):
    env = write_config(tmp_path, 'client_secret = "hunter2-very-secret\n')  # unterminated string

    with pytest.raises(ConfigError) as raised:
        resolve(NO_FLAGS, env)

    assert "hunter2" not in str(raised.value)


def test_settings_repr_hides_the_secret(tmp_path):
    env = write_config(tmp_path, 'client_id = "c"\nclient_secret = "hunter2-very-secret"\n')

    assert "hunter2" not in repr(resolve(NO_FLAGS, env))
