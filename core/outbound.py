"""The one egress guard: every connection Baton opens for a workflow (HTTP, PostgreSQL, SMTP, IMAP, OAuth
token endpoints, RSS, any future socket) is checked here, so the URLs and hosts users put in workflows and
connections cannot reach the machines around Baton (its databases, cloud metadata at 169.254.169.254,
admin consoles on the private network).

The rule, applied where a connection is opened, to the address it is opened to:
- the host name is resolved once (`OutboundPolicy.resolve`); every address it resolves to must be public:
  not private, loopback, link-local, shared (CGNAT 100.64/10), multicast, reserved or unspecified, and
  site-local (`fec0::/10`), and neither may be an IPv4 address carried inside an IPv6 one (IPv4-mapped
  `::ffff:0:0/96`, IPv4-compatible `::/96`, IPv4-translated `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96` and
  `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32`);
- the connection goes to the address that was checked, never to the name again, so a DNS answer that
  changes between check and connect (rebinding) gains nothing; TLS still verifies the certificate against
  the name (`pinned_tls`);
- Baton's own servers (`own_servers`: its PostgreSQL, Redis, log store, Temporal's gRPC and HTTP APIs,
  Web UI and metrics, the API and codec endpoint, the worker's metrics, BATON_SERVERS; all from settings)
  are refused even inside an allowed range, unless an operator names them in OUTBOUND_ALLOW_BATON_SERVERS.

`OUTBOUND_ALLOW` (settings.outbound_allow) is the one way to open a range: networks (`10.0.0.0/8`,
`127.0.0.1`) and host names (`intranet.example.com`). The hosts and ports of INTEGRATION_BASE_URLS and of
the OAuth endpoints in OAUTH_CLIENTS are allowed too (that host at that port): the operator chose them.
The guarded HTTP client ignores proxy variables and `.netrc` from the environment: a proxy would make the
connections this guard must check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from core.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# IPv4-compatible (::a.b.c.d, deprecated but still routed to a.b.c.d by some stacks) and IPv4-translated
# (::ffff:0:a.b.c.d, SIIT): the last 32 bits are an IPv4 address
_IPV4_IN_LOW_BITS = (ipaddress.ip_network("::/96"), ipaddress.ip_network("::ffff:0:0:0/96"))
_DEFAULT_PORTS = {
    "http": 80,
    "https": 443,
    "postgresql": 5432,
    "postgres": 5432,
    "redis": 6379,
    "rediss": 6379,
    "mongodb": 27017,
}
BLOCKED_HINT = "An operator can allow it with OUTBOUND_ALLOW."


class BlockedAddress(Exception):
    """A connection to an address the outbound policy refuses (not retryable: it will not change)."""


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def embedded(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, translated, NAT64, 6to4, Teredo
    (server and client)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in network for network in (*_NAT64, *_IPV4_IN_LOW_BITS)):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _not_public(address: Address) -> bool:
    # site-local fec0::/10 is deprecated, so Python calls it global; networks still route it internally
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return not address.is_global or address.is_multicast or site_local


def is_internal(address: Address) -> bool:
    """Private, loopback, link-local (cloud metadata), shared, multicast, reserved or unspecified, or an
    IPv6 form carrying such an IPv4 address."""
    address = _plain(address)
    # not globally reachable (IANA's special-purpose registries: private, loopback, link-local, shared
    # 100.64/10, documentation, reserved, unspecified...) or multicast
    return _not_public(address) or any(_not_public(inner) for inner in embedded(address))


def _endpoint(url: str) -> tuple[str, int | None] | None:
    """(host, port) of a URL, or of `host:port` text."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS.get(parts.scheme)


def _addresses_of(host: str) -> set[Address]:
    try:
        return {ipaddress.ip_address(host.split("%")[0])}
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    return {_plain(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos}


class OwnServers:
    """Baton's own servers as (address, port): what no workflow may reach. A server on a loopback or
    unspecified address is reached through any loopback address (127.0.0.2 included), so for those the
    port is refused on every loopback address."""

    def __init__(self, endpoints: Iterable[tuple[str, int | None]] = ()) -> None:
        self.exact: set[tuple[Address, int | None]] = set()
        self.loopback_ports: set[int | None] = set()
        for host, port in endpoints:
            for address in _addresses_of(host):
                if address.is_loopback or address.is_unspecified:
                    self.loopback_ports.add(port)
                else:
                    self.exact.add((address, port))

    def holds(self, address: Address, port: int | None) -> bool:
        address = _plain(address)
        candidates = [address, *embedded(address)]
        for candidate in candidates:
            if (candidate.is_loopback or candidate.is_unspecified) and (
                port in self.loopback_ports or None in self.loopback_ports
            ):
                return True
            if (candidate, port) in self.exact or (candidate, None) in self.exact:
                return True
        return False


class OutboundPolicy:
    """What connections made for workflows may reach (see the module docstring)."""

    def __init__(
        self,
        allow: Iterable[str] = (),
        allowed_urls: Iterable[str] = (),
        *,
        own: Iterable[tuple[str, int | None]] = (),
        own_allowed: Iterable[str] = (),
    ) -> None:
        self.networks: list[Network] = []
        self.hosts: set[str] = set()
        # the operator's endpoints (base URLs, OAuth endpoints): that host, at that port
        self.endpoints: set[tuple[str, int | None]] = set()
        for entry in allow:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))
        for url in allowed_urls:
            endpoint = _endpoint(url)
            if endpoint:
                self.endpoints.add(endpoint)
        self.own = OwnServers(own)
        self.own_allowed = OwnServers(e for e in map(_endpoint, own_allowed) if e)

    def allows_host(self, host: str, port: int | None = None) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or (name, port) in self.endpoints

    def allows(self, address: Address) -> bool:
        address = _plain(address)
        if not is_internal(address):
            return True
        inner = [a for a in [address, *embedded(address)] if _not_public(a)]
        return all(any(a in network for network in self.networks) for a in inner)

    def check(self, host: str, addresses: Iterable[str], port: int | None = None) -> list[str]:
        """The addresses a connection to `host` may use; raises BlockedAddress if any is refused."""
        found = list(dict.fromkeys(addresses))
        by_name = self.allows_host(host, port)
        for text in found:
            address = ipaddress.ip_address(text.split("%")[0])
            shown = host if host == text else f"{host} ({text})"
            if self.own.holds(address, port) and not self.own_allowed.holds(address, port):
                raise BlockedAddress(
                    f"{shown}{'' if port is None else f' port {port}'} is one of Baton's own servers: "
                    "workflows cannot reach them (an operator can name it in OUTBOUND_ALLOW_BATON_SERVERS)."
                )
            if not by_name and not self.allows(address):
                raise BlockedAddress(
                    f"{shown} is a private, loopback or link-local address: calls there are blocked to "
                    f"protect the network Baton runs in. {BLOCKED_HINT}"
                )
        return found

    async def resolve(self, host: str, port: int, timeout: float | None = 15) -> list[str]:
        """Resolves `host` once and answers the addresses a connection may go to (connect to these, never
        to the name again). Raises BlockedAddress, or OSError when the name does not resolve."""
        if not host or host.startswith("/"):
            raise BlockedAddress(f"{host or 'a local socket'} is not reachable from workflows (no host)")
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except UnicodeError as exc:
            raise socket.gaierror(f"cannot resolve {host}: {exc}") from exc
        addresses = self.check(host, (str(info[4][0]) for info in infos), port)
        if not addresses:
            raise socket.gaierror(f"{host} resolves to no address")
        return addresses


class _PinnedContext(ssl.SSLContext):
    """An SSL context that verifies (and sends as SNI) the host name the user gave, whatever address the
    library connects to: connecting to the checked address keeps TLS name checks meaningful."""

    pinned_hostname: str

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.pinned_hostname
        return super().wrap_socket(sock, *args, **kwargs)

    def wrap_bio(self, incoming: Any, outgoing: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.pinned_hostname
        return super().wrap_bio(incoming, outgoing, *args, **kwargs)


def pinned_tls(hostname: str, *, check_hostname: bool = True) -> ssl.SSLContext:
    """A client TLS context for a connection made to a checked address on behalf of `hostname`: the
    certificate is verified, and with `check_hostname` its name too."""
    context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.pinned_hostname = hostname
    context.load_default_certs()
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with every TCP connection checked by the policy."""

    def __init__(self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._policy.resolve(host, port, timeout)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host} resolves to no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ARG002
        socket_options: Iterable[Any] | None = None,  # noqa: ARG002
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(f"unix sockets ({path}) are not reachable from workflows")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(policy: OutboundPolicy, **kwargs: Any) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(**kwargs)
    # httpx builds its httpcore pool without a way to pass a network backend; the pool keeps it here
    transport._pool._network_backend = GuardedBackend(policy)  # noqa: SLF001
    return transport


class GuardedClient(httpx.AsyncClient):
    """An httpx client whose every connection the policy checks (also after redirects). It carries the
    policy, so code handed the client (an action's context) guards its other sockets by the same rule."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        # no proxy from the environment: a proxy would open the connections this guard must check
        kwargs.setdefault("trust_env", False)
        super().__init__(transport=guarded_transport(policy), **kwargs)
        self.policy = policy


def outbound_client(policy: OutboundPolicy, **kwargs: Any) -> GuardedClient:
    """An httpx client whose every connection the policy checks (also after redirects)."""
    return GuardedClient(policy, **kwargs)


TEMPORAL_HTTP_PORT = 7243  # the Temporal frontend's HTTP API, by Temporal's default configuration


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def own_servers(settings: Settings) -> list[tuple[str, int | None]]:
    """Every server Baton runs or points at, from its settings: the one list of what no workflow may
    reach. A new service gets its setting and its line here (the baton dev test proves every socket of
    the stack is on it)."""
    temporal_host = _endpoint(f"grpc://{settings.temporal_address}")
    urls = [
        settings.database_url,
        settings.redis_url,
        f"grpc://{settings.temporal_address}",  # the frontend's gRPC API
        settings.temporal_ui_url,  # the Web UI and its HTTP API (every namespace's runs)
        settings.temporal_http_address
        or (f"http://{_address(temporal_host[0], TEMPORAL_HTTP_PORT)}" if temporal_host else ""),
        settings.temporal_metrics_address or "",
        f"http://{_address(settings.api_host, settings.api_port)}",  # the API, /codec with CODEC_IN_API
        f"http://{_address(settings.codec_host, settings.codec_port)}",  # `baton codec-server`
        *settings.baton_servers,
    ]
    if settings.worker_metrics_port:
        urls.append(f"http://{_address(settings.worker_metrics_host, settings.worker_metrics_port)}")
    if settings.mongodb_url:
        # mongodb://a:27017,b:27017/ lists several hosts
        rest = settings.mongodb_url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
        urls += [f"mongodb://{host}" for host in rest.split(",") if host]
    found: list[tuple[str, int | None]] = []
    for url in urls:
        endpoint = _endpoint(url) if url else None
        if endpoint:
            found.append(endpoint)
    return found


def operator_urls(settings: Settings) -> list[str]:
    """The endpoints an operator configured for integrations: base URLs and OAuth endpoints."""
    urls = list(settings.integration_base_urls.values())
    for client in settings.oauth_clients.values():
        urls += [client[name] for name in ("authorizeUrl", "tokenUrl") if client.get(name)]
    return urls


@lru_cache(maxsize=64)
def _policy(
    allow: tuple[str, ...],
    urls: tuple[str, ...],
    own: tuple[tuple[str, int | None], ...],
    own_allowed: tuple[str, ...],
) -> OutboundPolicy:
    return OutboundPolicy(allow, urls, own=own, own_allowed=own_allowed)


def policy_for(settings: Settings) -> OutboundPolicy:
    """The installation's policy (cached: Baton's own servers are resolved once)."""
    return _policy(
        tuple(settings.outbound_allow),
        tuple(operator_urls(settings)),
        tuple(own_servers(settings)),
        tuple(settings.outbound_allow_baton_servers),
    )
