"""The outbound guard on its own: which addresses are internal, what OUTBOUND_ALLOW opens, and that the
check is made on the address actually connected to (a host name is resolved once, then that address used)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from core.outbound import BlockedAddress, OutboundPolicy, is_internal, outbound_client, policy_for
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
        # IPv4 carried inside IPv6: NAT64 (well-known and local-use), 6to4, Teredo (client 127.0.0.1)
        ("64:ff9b::7f00:1", True),
        ("64:ff9b::a9fe:a9fe", True),  # 169.254.169.254, cloud metadata
        ("64:ff9b::808:808", False),
        ("64:ff9b:1::a00:1", True),
        ("2002:7f00:1::", True),
        ("2002:a00:1::1", True),
        ("2002:808:808::1", False),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", True),
        # IPv4-compatible and IPv4-translated forms, and the deprecated site-local range
        ("::127.0.0.1", True),
        ("::a9fe:a9fe", True),
        ("::8.8.8.8", False),
        ("::ffff:0:7f00:1", True),
        ("::ffff:0:a00:1", True),
        ("::ffff:0:808:808", False),
        ("fec0::1", True),
        ("feff::1", True),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert is_internal(ipaddress.ip_address(address)) is internal


def test_the_allow_list_takes_networks_and_host_names() -> None:
    policy = OutboundPolicy(["10.1.0.0/16", "intranet.example.com", " "], ["https://slack.corp.local/api"])
    assert policy.check("10.1.2.3", ["10.1.2.3"]) == ["10.1.2.3"]
    assert policy.check("intranet.example.com", ["192.168.0.9"]) == ["192.168.0.9"]
    assert policy.check("slack.corp.local", ["10.9.9.9"], 443) == ["10.9.9.9"]  # an operator's base URL...
    with pytest.raises(BlockedAddress):  # ...at its own port only: not a way into every port of that host
        policy.check("slack.corp.local", ["10.9.9.9"], 5432)
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


@pytest.mark.parametrize(
    "form", ["64:ff9b::7f00:1", "2002:7f00:1::1", "::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:7f00:1"]
)
def test_an_allowed_ipv4_range_opens_its_ipv6_forms_too_and_nothing_else(form: str) -> None:
    assert OutboundPolicy(["127.0.0.1"]).check(form, [form]) == [form]
    with pytest.raises(BlockedAddress):
        OutboundPolicy(["10.0.0.0/8"]).check(form, [form])


def test_batons_own_servers_are_refused_even_inside_an_allowed_range() -> None:
    own = [("127.0.0.1", 5432), ("10.0.0.5", 6379)]
    policy = OutboundPolicy(["127.0.0.0/8", "10.0.0.0/8", "db.internal"], own=own)
    with pytest.raises(BlockedAddress, match="OUTBOUND_ALLOW_BATON_SERVERS"):
        policy.check("127.0.0.1", ["127.0.0.1"], 5432)
    with pytest.raises(BlockedAddress, match="own servers"):  # any loopback address reaches a local server
        policy.check("127.0.0.2", ["127.0.0.2"], 5432)
    with pytest.raises(BlockedAddress, match="own servers"):
        policy.check("64:ff9b::7f00:1", ["64:ff9b::7f00:1"], 5432)
    for form in ("::127.0.0.1", "::ffff:0:7f00:1"):  # IPv4-compatible and IPv4-translated
        with pytest.raises(BlockedAddress, match="own servers"):
            policy.check(form, [form], 5432)
    with pytest.raises(BlockedAddress, match="own servers"):  # allowed by name, still Baton's server
        policy.check("db.internal", ["10.0.0.5"], 6379)
    assert policy.check("127.0.0.1", ["127.0.0.1"], 8080) == ["127.0.0.1"]  # another port: allowed
    assert policy.check("db.internal", ["10.0.0.5"], 5432) == ["10.0.0.5"]
    opened = OutboundPolicy(["127.0.0.1"], own=own, own_allowed=["127.0.0.1:5432"])
    assert opened.check("127.0.0.1", ["127.0.0.1"], 5432) == ["127.0.0.1"]


def test_the_installations_own_servers_come_from_its_settings() -> None:
    settings = Settings(
        _env_file=None,
        database_url="postgresql://u:p@127.0.0.1:6543/baton",
        redis_url="redis://127.0.0.1:6390/0",
        temporal_address="127.0.0.1:7299",
        mongodb_url="mongodb://u:p@127.0.0.1:27018,127.0.0.1:27019/?replicaSet=rs",
        temporal_ui_url="http://127.0.0.1:8299",
        temporal_metrics_address="127.0.0.1:9299",
        api_host="0.0.0.0",  # noqa: S104 - listening everywhere: reached on every loopback address too
        api_port=8099,
        codec_port=8298,
        worker_metrics_port=9498,
        baton_servers=["127.0.0.1:7301", "10.0.0.7"],
        outbound_allow=["127.0.0.1", "10.0.0.0/8"],
    )
    policy = policy_for(settings)
    # PostgreSQL, Redis, Temporal gRPC, MongoDB; the Web UI, Temporal's HTTP API (its default port beside
    # TEMPORAL_ADDRESS) and metrics; the API, the codec server, the worker's metrics, BATON_SERVERS
    for port in (6543, 6390, 7299, 27018, 27019, 8299, 7243, 9299, 8099, 8298, 9498, 7301):
        with pytest.raises(BlockedAddress, match="own servers"):
            policy.check("127.0.0.1", ["127.0.0.1"], port)
    with pytest.raises(BlockedAddress, match="own servers"):
        policy.check("127.0.0.2", ["127.0.0.2"], 8099)
    with pytest.raises(BlockedAddress, match="own servers"):  # a host without a port: all of its ports
        policy.check("10.0.0.7", ["10.0.0.7"], 443)
    assert policy.check("127.0.0.1", ["127.0.0.1"], 8080) == ["127.0.0.1"]
    assert policy.check("10.0.0.8", ["10.0.0.8"], 443) == ["10.0.0.8"]
    explicit = settings.model_copy(update={"temporal_http_address": "127.0.0.1:7399"})
    with pytest.raises(BlockedAddress, match="own servers"):
        policy_for(explicit).check("127.0.0.1", ["127.0.0.1"], 7399)


async def test_resolve_refuses_local_sockets_and_checks_every_address() -> None:
    policy = OutboundPolicy()
    for host in ("", "/var/run/postgresql"):
        with pytest.raises(BlockedAddress):
            await policy.resolve(host, 5432)
    with pytest.raises(BlockedAddress, match="localhost"):
        await policy.resolve("localhost", 80)
    assert await OutboundPolicy(["127.0.0.1", "::1"]).resolve("127.0.0.1", 80) == ["127.0.0.1"]
