"""One HTTP POST to a checked webhook target, bounded in time whatever the receiver does.

The connection goes to an address the URL policy approved (the one resolved at delivery, so a DNS
answer cannot change between the check and the connection), with the URL's host name in the
``Host`` header and for TLS (SNI and certificate check). Redirects are not followed (``http.client``
never follows them; a 3xx is a failed attempt). A watchdog closes the socket at the deadline, so a
receiver that accepts and never answers, or answers one byte at a time, costs at most ``timeout``
seconds.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.webhooks.urls import Target

MAX_RESPONSE_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(address, target.port, timeout=timeout)
        self._target = target

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self._target.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self._target.host)
        self.sock = sock


def post(target: Target, body: bytes, headers: Mapping[str, str], *, timeout: float) -> Attempt:
    """POST ``body`` to the first approved address of ``target``; never raises for the network."""
    started = time.monotonic()
    connection = _PinnedConnection(target, target.addresses[0], timeout)
    watchdog = threading.Timer(timeout, _cut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", target.host_header)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return Attempt(response.status, None, _elapsed(started))
    except (OSError, http.client.HTTPException, ValueError) as error:
        timed_out = isinstance(error, TimeoutError) or time.monotonic() - started >= timeout
        reason = f"no answer within {timeout:g} s" if timed_out else f"{type(error).__name__}: {error}"[:200]
        return Attempt(None, reason, _elapsed(started))
    finally:
        watchdog.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
