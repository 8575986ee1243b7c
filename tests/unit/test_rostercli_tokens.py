"""The token cache: one token until shortly before it expires, per API URL, client id and secret,
never the secret itself."""

from __future__ import annotations

import stat

from rostercli.tokens import EXPIRY_MARGIN_SECONDS, Credentials, TokenCache

SECRET = "s3cret-value-of-the-client"
ME = Credentials("http://api", "client", SECRET)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cached_token_is_served_until_shortly_before_expiry(tmp_path):
    clock = Clock()
    cache = TokenCache(tmp_path, clock=clock)
    cache.put(ME, "tok-1", expires_in=3600)

    clock.now += 3600 - EXPIRY_MARGIN_SECONDS - 1
    assert cache.get(ME) == "tok-1"

    clock.now += 2
    assert cache.get(ME) is None


def test_cache_is_keyed_by_api_url_client_id_and_secret(tmp_path):
    # Given a token cached for one API URL, client id and secret
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put(ME, "tok-1", expires_in=3600)

    # Then another client, another API, or the same client with a wrong or rotated secret finds none
    assert cache.get(Credentials("http://api", "other-client", SECRET)) is None
    assert cache.get(Credentials("http://other-api", "client", SECRET)) is None
    assert cache.get(Credentials("http://api", "client", "wrong-secret")) is None
    assert cache.get(Credentials("http://api", "client", SECRET)) == "tok-1"


def test_key_parts_cannot_be_shifted_into_one_another(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put(Credentials("http://api", "a\nb", "c"), "tok-1", expires_in=3600)

    assert cache.get(Credentials("http://api", "a", "b\nc")) is None


def test_secret_is_in_no_file_name_or_content_and_not_in_repr(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put(ME, "tok-1", expires_in=3600)

    (stored,) = tmp_path.iterdir()
    assert SECRET not in stored.name and SECRET not in stored.read_text()
    assert SECRET not in repr(ME)


def test_a_token_under_a_new_secret_replaces_the_old_secrets_token(tmp_path):
    # Given a token cached under the old secret, and one of another client
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put(ME, "tok-old", expires_in=3600)
    other = Credentials("http://api", "other-client", SECRET)
    cache.put(other, "tok-other", expires_in=3600)

    # When a token is stored under the rotated secret
    rotated = Credentials("http://api", "client", "rotated-secret")
    cache.put(rotated, "tok-new", expires_in=3600)

    # Then the old secret's file is gone; the other client's stays
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [cache.path(rotated).name, cache.path(other).name]
    )
    assert (cache.get(rotated), cache.get(ME), cache.get(other)) == ("tok-new", None, "tok-other")


def test_cache_file_is_private_to_the_user(tmp_path):
    cache = TokenCache(tmp_path / "roster", clock=Clock())
    cache.put(ME, "tok-1", expires_in=3600)

    mode = stat.S_IMODE(cache.path(ME).stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "roster").stat().st_mode) == 0o700


def test_corrupt_cache_file_counts_as_no_token(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.path(ME).write_text("{not json")

    assert cache.get(ME) is None


def test_forgotten_token_is_gone(tmp_path):
    cache = TokenCache(tmp_path, clock=Clock())
    cache.put(ME, "tok-1", expires_in=3600)

    cache.forget(ME)

    assert cache.get(ME) is None
