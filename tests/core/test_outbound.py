"""The outbound guard on its own: which addresses are internal, what OUTBOUND_ALLOW opens, and that the
check is made on the address actually connected to (a host name is resolved once, then that address used)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from core.outbound import BlockedAddress, OutboundPolicy, is_internal, outbound_client
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("127.0.0.1", True),
        ("10.20.30.40", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # carrier-grade NAT (shared address space)
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("fc00::1", True),
        ("fe80::1", True),
        ("::ffff:10.0.0.1", True),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert is_internal(ipaddress.ip_address(address)) is internal


def test_the_allow_list_takes_networks_and_host_names() -> None:
    policy = OutboundPolicy(["10.1.0.0/16", "intranet.example.com", " "], ["https://slack.corp.local/api"])
    assert policy.check("10.1.2.3", ["10.1.2.3"]) == ["10.1.2.3"]
    assert policy.check("intranet.example.com", ["192.168.0.9"]) == ["192.168.0.9"]
    assert policy.check("slack.corp.local", ["10.9.9.9"]) == ["10.9.9.9"]  # an operator's base URL
    with pytest.raises(BlockedAddress, match="OUTBOUND_ALLOW"):
        policy.check("10.2.0.1", ["10.2.0.1"])
    with pytest.raises(BlockedAddress):  # one internal address among public ones is enough to refuse
        policy.check("mixed.example.com", ["8.8.8.8", "127.0.0.1"])


def test_settings_read_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOW", "10.0.0.0/8, intranet.local")
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    settings = Settings(_env_file=None)
    assert settings.outbound_allow == ["10.0.0.0/8", "intranet.local"]
    assert settings.cors_origins == ["https://app.example.com"]


async def test_a_host_name_is_checked_on_what_it_resolves_to(http_server: ScriptedServer) -> None:
    url = http_server.script("/hello", Reply(200, "hi"))
    by_name = url.replace("127.0.0.1", "localhost")
    async with outbound_client(OutboundPolicy()) as http:
        with pytest.raises(BlockedAddress, match="localhost"):
            await http.get(by_name)
    async with outbound_client(OutboundPolicy(["127.0.0.1"])) as http:
        assert (await http.get(by_name)).text == "hi"  # localhost resolves to the address allowed
    async with outbound_client(OutboundPolicy(["localhost"]), follow_redirects=True) as http:
        jump = http_server.script("/jump", Reply(302, "", {"location": url}))
        with pytest.raises(BlockedAddress, match="127.0.0.1"):  # allowed by name, not by address
            await http.get(jump.replace("127.0.0.1", "localhost"))
    assert len(http_server.hits("/hello")) == 1


async def test_an_allowed_address_where_nothing_listens_is_an_ordinary_connect_error() -> None:
    async with outbound_client(OutboundPolicy(["127.0.0.1"])) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:1/")  # allowed, nothing listens: an ordinary connect error
