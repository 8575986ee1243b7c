"""The user pool's JWKS, fetched once per warm function and again (at most every
``refresh_seconds``) when a token names a ``kid`` the cached set does not have (key rotation)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

JWKS_SUFFIX = "/.well-known/jwks.json"
FETCH_TIMEOUT_SECONDS = 1.5  # API Gateway's own JWKS fetch budget


class Jwks:
    def __init__(
        self,
        issuer: str,
        *,
        refresh_seconds: float = 60.0,
        fetch: Callable[[str], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = issuer.rstrip("/") + JWKS_SUFFIX
        self._refresh = refresh_seconds
        self._fetch = fetch or _fetch_json
        self._clock = clock
        self._keys: dict[str, Any] | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        with self._lock:
            if self._keys is None or self._clock() - self._fetched_at >= self._refresh:
                self._keys = self._fetch(self.url)
                self._fetched_at = self._clock()
            return self._keys


def _fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"JWKS URL must be http(s): {url}")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked
        document: dict[str, Any] = json.load(response)
    return document
