"""The access-token cache: Cognito bills each token request, so one token serves until shortly before it expires.

A cached token is reused only for the same API URL, client id **and client secret**: a wrong or
rotated secret must never ride on a token obtained with the old one (the API would accept the
token, and the command would succeed with credentials that no longer work). The secret is never
stored: it enters only a SHA-256 digest that names the cache file. One file per credentials in
the cache directory (mode 0700), each mode 0600, holding the token and its expiry only; storing a
token removes the files of the same API URL and client id under other secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

EXPIRY_MARGIN_SECONDS = 60


def _digest(*parts: str) -> str:
    """A SHA-256 of the parts, each length-prefixed so that no two lists of parts collide."""
    hashed = hashlib.sha256(b"roster token cache v2\0")
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        hashed.update(len(data).to_bytes(8, "big") + data)
    return hashed.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a cached token is keyed by. The secret takes part in the key, never in a file."""

    api_url: str
    client_id: str
    client_secret: str = field(repr=False)

    @property
    def client(self) -> str:
        """Names the API URL and client id (every secret alike)."""
        return _digest(self.api_url, self.client_id)

    @property
    def key(self) -> str:
        return _digest(self.api_url, self.client_id, self.client_secret)


class TokenCache:
    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._directory = directory
        self._clock = clock

    def path(self, credentials: Credentials) -> Path:
        return self._directory / f"token-{credentials.client}-{credentials.key}.json"

    def get(self, credentials: Credentials) -> str | None:
        """The cached token, unless it expires within ``EXPIRY_MARGIN_SECONDS`` (or the file is unreadable)."""
        try:
            entry = json.loads(self.path(credentials).read_text(encoding="utf-8"))
            token, expires_at = str(entry["access_token"]), float(entry["expires_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return token if self._clock() < expires_at - EXPIRY_MARGIN_SECONDS else None

    def put(self, credentials: Credentials, token: str, expires_in: float) -> None:
        """Store atomically with mode 0600, replacing the tokens of this client under other
        secrets; a cache that cannot be written only costs a token request."""
        target = self.path(credentials)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        entry = {"access_token": token, "expires_at": self._clock() + expires_in}
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump(entry, stream)
            os.replace(temporary, target)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        for stale in self._directory.glob(f"token-{credentials.client}-*.json"):
            if stale != target:
                with contextlib.suppress(OSError):
                    stale.unlink()

    def forget(self, credentials: Credentials) -> None:
        with contextlib.suppress(OSError):
            self.path(credentials).unlink()
