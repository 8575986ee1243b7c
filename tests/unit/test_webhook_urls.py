"""The webhook URL policy (SSRF guard) with a fake resolver: no DNS, no sockets."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lambdas.common.errors import InvalidWebhookUrl
from lambdas.webhooks.urls import UrlPolicy


def resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        if not addresses:
            raise socket.gaierror("no such host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    return resolve


PUBLIC = resolver("93.184.215.14")


def test_https_to_a_public_address_is_accepted() -> None:
    target = UrlPolicy(resolver=PUBLIC).check("https://hooks.example.com/roster?x=1")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 443, "/roster?x=1")
    assert target.addresses == ("93.184.215.14",) and target.host_header == "hooks.example.com"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "10.0.0.5",  # private
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",  # instance metadata (link-local)
        "169.254.170.2",  # ECS task metadata
        "169.254.170.23",  # EKS Pod Identity agent
        "fd00:ec2::23",  # EKS Pod Identity agent over IPv6
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "::1",
        "fd00:ec2::254",  # metadata over IPv6
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match="address"):
        UrlPolicy(resolver=resolver(address)).check("https://hooks.example.com/")


def test_one_bad_address_among_good_ones_is_refused() -> None:
    with pytest.raises(InvalidWebhookUrl):
        UrlPolicy(resolver=resolver("93.184.215.14", "10.1.2.3")).check("https://hooks.example.com/")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
        "gopher://hooks.example.com/",
        "hooks.example.com/path",
        "https://user:pw@hooks.example.com/",
        "https:///nohost",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/\n",
        "",
        "https://" + "a" * 2100 + ".com/",
    ],
)
def test_other_schemes_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        UrlPolicy(resolver=PUBLIC).check(url)


def test_a_literal_metadata_address_is_refused() -> None:
    # (a literal address resolves to itself)
    with pytest.raises(InvalidWebhookUrl):
        UrlPolicy(resolver=resolver("169.254.169.254")).check("https://169.254.169.254/latest/meta-data/")


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        UrlPolicy(resolver=resolver()).check("https://nowhere.invalid/")


def test_loopback_http_only_with_the_setting() -> None:
    loopback = resolver("127.0.0.1")
    with pytest.raises(InvalidWebhookUrl):
        UrlPolicy(resolver=loopback).check("http://127.0.0.1:9000/hook")
    target = UrlPolicy(allow_loopback=True, resolver=loopback).check("http://127.0.0.1:9000/hook")
    assert (target.scheme, target.port, target.host_header) == ("http", 9000, "127.0.0.1:9000")


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "192.168.0.10"])
def test_the_loopback_setting_still_refuses_private_and_metadata(address: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        UrlPolicy(allow_loopback=True, resolver=resolver(address)).check(f"http://{address}/")


def test_the_loopback_setting_keeps_http_to_public_hosts_refused() -> None:
    with pytest.raises(InvalidWebhookUrl, match="https"):
        UrlPolicy(allow_loopback=True, resolver=PUBLIC).check("http://hooks.example.com/")
