"""Where `roster` finds its settings: flags, then ``ROSTER_*`` variables, then a TOML config file.

The config file is ``$ROSTER_CONFIG`` or ``~/.config/roster/config.toml`` (``$XDG_CONFIG_HOME`` is honoured)
with top-level keys ``api_url``, ``client_id`` and ``client_secret``. The token cache lives in
``$ROSTER_CACHE_DIR`` or ``~/.cache/roster`` (``$XDG_CACHE_HOME`` is honoured).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "http://127.0.0.1:8000"  # the local stack of `make run`
KEYS = ("api_url", "client_id", "client_secret")
ENV = {"api_url": "ROSTER_API_URL", "client_id": "ROSTER_CLIENT_ID", "client_secret": "ROSTER_CLIENT_SECRET"}


class ConfigError(Exception):
    """The settings are incomplete or the config file cannot be read."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    client_id: str
    client_secret: str = field(repr=False)
    cache_dir: Path


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("ROSTER_CONFIG"):
        return Path(env["ROSTER_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "roster" / "config.toml"


def cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("ROSTER_CACHE_DIR"):
        return Path(env["ROSTER_CACHE_DIR"]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "roster"


def read_config_file(path: Path, *, explicit: bool) -> dict[str, str]:
    """The file's known keys; a missing file is fine unless it was named by ``$ROSTER_CONFIG``."""
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        # The decode error names a line and column, never the values.
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    return {key: str(document[key]) for key in KEYS if document.get(key) not in (None, "")}


def resolve(flags: Mapping[str, str | None], env: Mapping[str, str]) -> Settings:
    """Each setting from the first source that has it: flag, environment variable, config file."""
    path = config_path(env)
    from_file = read_config_file(path, explicit=bool(env.get("ROSTER_CONFIG")))
    chosen: dict[str, str] = {}
    for key in KEYS:
        value = flags.get(key) or env.get(ENV[key]) or from_file.get(key)
        if value:
            chosen[key] = value
    chosen.setdefault("api_url", DEFAULT_API_URL)
    missing = [key for key in ("client_id", "client_secret") if key not in chosen]
    if missing:
        hints = ", ".join(f"--{key.replace('_', '-')} or {ENV[key]}" for key in missing)
        raise ConfigError(f"missing {' and '.join(missing)}: set {hints}, or put it in {path}")
    return Settings(
        api_url=chosen["api_url"].rstrip("/"),
        client_id=chosen["client_id"],
        client_secret=chosen["client_secret"],
        cache_dir=cache_dir(env),
    )
