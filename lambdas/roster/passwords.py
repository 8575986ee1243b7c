"""Password hashing: stdlib scrypt, salted, slow on purpose; the plain password is never kept.

Encoded form: ``scrypt$<log2 n>$<r>$<p>$<salt base64>$<hash base64>`` (16-byte random salt,
32-byte hash). Production cost is n = 2**14, r = 8, p = 1 (about 50 ms and 16 MiB per hash on
one core); tests lower ``log2_n`` through configuration. ``verify`` reads the parameters from
the encoded value, so raising the cost later keeps old hashes verifiable.

scrypt releases the GIL, so ``hash_many``/``verify_many`` run on a thread pool: two workers
on two cores hash about twice as fast.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

SCHEME = "scrypt"
SALT_BYTES = 16
HASH_BYTES = 32
BLOCK_SIZE = 8  # r
PARALLELISM = 1  # p


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=256 * r * n * p + (1 << 20)
    )


class PasswordHasher:
    def __init__(self, log2_n: int = 14, workers: int = 2) -> None:
        if not 1 <= log2_n <= 20:
            raise ValueError("log2_n must be between 1 and 20")
        self.log2_n = log2_n
        self.workers = max(1, workers)

    def hash(self, password: str) -> str:
        salt = os.urandom(SALT_BYTES)
        digest = _scrypt(password, salt, self.log2_n, BLOCK_SIZE, PARALLELISM)
        b64 = base64.b64encode
        return f"{SCHEME}${self.log2_n}${BLOCK_SIZE}${PARALLELISM}${b64(salt).decode()}${b64(digest).decode()}"

    def hash_many(self, passwords: Sequence[str]) -> list[str]:
        """Hashes in input order, on ``workers`` threads."""
        if self.workers == 1 or len(passwords) < 2:
            return [self.hash(password) for password in passwords]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="scrypt") as pool:
            return list(pool.map(self.hash, passwords))

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded`` (constant-time comparison). A malformed or
        foreign encoding is ``False``, never an exception."""
        try:
            scheme, log2_n, r, p, salt, digest = encoded.split("$")
            if scheme != SCHEME or not 1 <= int(log2_n) <= 20:
                return False
            expected = base64.b64decode(digest, validate=True)
            actual = _scrypt(password, base64.b64decode(salt, validate=True), int(log2_n), int(r), int(p))
        except (ValueError, TypeError, AttributeError):
            return False
        return hmac.compare_digest(actual, expected)

    def verify_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """``verify`` of each ``(password, encoded)`` pair, in input order, on ``workers`` threads."""
        if self.workers == 1 or len(pairs) < 2:
            return [self.verify(password, encoded) for password, encoded in pairs]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="scrypt") as pool:
            return list(pool.map(lambda pair: self.verify(*pair), pairs))
