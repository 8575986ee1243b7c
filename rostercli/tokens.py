"""The access-token cache: Cognito bills each token request, so one token serves until shortly before it expires.

One file per (API URL, client id) in the cache directory, mode 0600, holding the token and its expiry only:
never the client secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

EXPIRY_MARGIN_SECONDS = 60


class TokenCache:
    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._directory = directory
        self._clock = clock

    def path(self, api_url: str, client_id: str) -> Path:
        digest = hashlib.sha256(f"{api_url}\n{client_id}".encode()).hexdigest()[:32]
        return self._directory / f"token-{digest}.json"

    def get(self, api_url: str, client_id: str) -> str | None:
        """The cached token, unless it expires within ``EXPIRY_MARGIN_SECONDS`` (or the file is unreadable)."""
        try:
            entry = json.loads(self.path(api_url, client_id).read_text(encoding="utf-8"))
            token, expires_at = str(entry["access_token"]), float(entry["expires_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return token if self._clock() < expires_at - EXPIRY_MARGIN_SECONDS else None

    def put(self, api_url: str, client_id: str, token: str, expires_in: float) -> None:
        """Store atomically with mode 0600; a cache that cannot be written only costs a token request."""
        target = self.path(api_url, client_id)
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

    def forget(self, api_url: str, client_id: str) -> None:
        with contextlib.suppress(OSError):
            self.path(api_url, client_id).unlink()
