"""The ``Roster-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The key is the secret exactly as shown at registration (its UTF-8 bytes, ``whsec_`` prefix
included); the message is the decimal timestamp, a full stop and the raw request body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Roster-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (the README's snippet, as a function the tests hold it to)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdecimal() or abs(now - int(fields["t"])) > tolerance:
        return False
    expected = signature(secret, int(fields["t"]), body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
