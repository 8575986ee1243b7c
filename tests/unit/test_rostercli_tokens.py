"""The token cache: one token until shortly before it expires, per API URL and client, never the secret."""

from __future__ import annotations

import stat

from rostercli.tokens import EXPIRY_MARGIN_SECONDS, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cached_token_is_served_until_shortly_before_expiry(tmp_path):
    clock = Clock()
    cache = TokenCache(tmp_path, clock=clock)
    cache.put("http://api", "client", "tok-1", expires_in=3600)

    clock.now += 3600 - EXPIRY_MARGIN_SECONDS - 1
    assert cache.get("http://api", "client") == "tok-1"

    clock.now += 2
    assert cache.get("http://api", "client") is None


def test_cache_is_keyed_by_api_url_and_client_id(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put("http://api", "client", "tok-1", expires_in=3600)

    assert cache.get("http://api", "other-client") is None
    assert cache.get("http://other-api", "client") is None


def test_cache_file_is_private_to_the_user(tmp_path):
    cache = TokenCache(tmp_path / "roster", clock=Clock())
    cache.put("http://api", "client", "tok-1", expires_in=3600)

    mode = stat.S_IMODE(cache.path("http://api", "client").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "roster").stat().st_mode) == 0o700


def test_corrupt_cache_file_counts_as_no_token(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.path("http://api", "client").write_text("{not json")

    assert cache.get("http://api", "client") is None


def test_forgotten_token_is_gone(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put("http://api", "client", "tok-1", expires_in=3600)

    cache.forget("http://api", "client")

    assert cache.get("http://api", "client") is None
