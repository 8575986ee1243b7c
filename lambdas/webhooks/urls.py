"""Which webhook URLs the service will call (SSRF guard), checked at registration and again
before every delivery: DNS may change between the two.

A URL is accepted when it is ``https`` with a host name or address, no user info, and every
address the name resolves to is a public (globally routable, unicast) address. Refused: loopback,
private (RFC 1918, unique local), link-local (169.254.0.0/16 holds the instance metadata service
169.254.169.254; fe80::/10), shared (100.64.0.0/10), multicast, reserved and unspecified
addresses, IPv4-mapped IPv6 forms of any of those, and the AWS metadata IPv6 address
fd00:ec2::254 (unique local). ``allow_loopback`` (the local stack's setting, never set on AWS)
additionally accepts ``http`` or ``https`` to loopback addresses only: a receiver on the same
machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lambdas.common.errors import InvalidWebhookUrl

MAX_URL_LENGTH = 2048
Resolver = Callable[..., Sequence[tuple[Any, ...]]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery goes: the checked URL's parts and the addresses it may connect to."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _refuse(url: str, reason: str) -> InvalidWebhookUrl:
    return InvalidWebhookUrl(f"The webhook URL {url[:200]!r} is refused: {reason}.")


def _is_allowed(address: Address, *, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if allow_loopback and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    allow_loopback: bool = False
    resolver: Resolver = socket.getaddrinfo

    def check(self, url: str) -> Target:
        """The delivery target of ``url``; ``InvalidWebhookUrl`` (400) names why it is refused."""
        if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or not url.isprintable():
            raise _refuse(str(url), f"it must be an https URL of at most {MAX_URL_LENGTH} characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _refuse(url, "it is not a valid URL") from None
        schemes = {"https", "http"} if self.allow_loopback else {"https"}
        if parts.scheme not in schemes:
            raise _refuse(url, "only https URLs are accepted")
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise _refuse(url, "it needs a host name and no user name or password")
        port = port or (443 if parts.scheme == "https" else 80)
        addresses = self._addresses(url, parts.hostname, port)
        if parts.scheme == "http" and not all(ipaddress.ip_address(a).is_loopback for a in addresses):
            raise _refuse(url, "only https URLs are accepted (http only to this machine)")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return Target(parts.scheme, parts.hostname, port, path, addresses)

    def _addresses(self, url: str, host: str, port: int) -> tuple[str, ...]:
        try:
            answers = self.resolver(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise _refuse(url, f"the host {host!r} does not resolve") from None
        addresses = tuple(dict.fromkeys(str(answer[4][0]).split("%", 1)[0] for answer in answers))
        if not addresses:
            raise _refuse(url, f"the host {host!r} does not resolve")
        for address in addresses:
            if not _is_allowed(ipaddress.ip_address(address), allow_loopback=self.allow_loopback):
                raise _refuse(url, "it points to a loopback, private, link-local, metadata or reserved address")
        return addresses
