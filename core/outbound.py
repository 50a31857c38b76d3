"""Outbound HTTP with a guard against server-side request forgery: the URLs users put in workflows
(`http.request`, RSS feeds, webhooks to call) must not reach the machines around Baton (its databases,
cloud metadata at 169.254.169.254, admin consoles on the private network).

Every connection the guarded client opens is checked where it is opened, on the address it is opened to:
the host name is resolved once, every address it resolves to must be public (not private, loopback,
link-local, multicast, reserved or unspecified; IPv4-mapped IPv6 is read as its IPv4), and the connection
goes to the address that was checked, so a DNS answer that changes between check and connect (rebinding)
gains nothing. Redirects open new connections and are checked the same way.

`OUTBOUND_ALLOW` (settings.outbound_allow) lists what may be reached anyway: networks (`10.0.0.0/8`,
`127.0.0.1`) and host names (`intranet.example.com`). The hosts of INTEGRATION_BASE_URLS are allowed too:
the operator chose them. When an HTTP proxy is configured through the environment, the proxy makes the
connections and must apply the same rule (see SECURITY.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from core.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(Exception):
    """A connection to an address the outbound policy refuses (not retryable: it will not change)."""


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_internal(address: Address) -> bool:
    """Private, loopback, link-local (cloud metadata), shared, multicast, reserved or unspecified."""
    address = _plain(address)
    # not globally reachable (IANA's special-purpose registries: private, loopback, link-local, shared
    # 100.64/10, documentation, reserved, unspecified...) or multicast
    return not address.is_global or address.is_multicast


class OutboundPolicy:
    def __init__(self, allow: Iterable[str] = (), allowed_urls: Iterable[str] = ()) -> None:
        self.networks: list[Network] = []
        self.hosts: set[str] = set()
        for entry in allow:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))
        for url in allowed_urls:
            host = urlsplit(url).hostname
            if host:
                self.hosts.add(host.lower().rstrip("."))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows(self, address: Address) -> bool:
        address = _plain(address)
        return not is_internal(address) or any(address in network for network in self.networks)

    def check(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The addresses a connection to `host` may use; raises BlockedAddress if any is refused."""
        found = list(dict.fromkeys(addresses))
        if self.allows_host(host):
            return found
        for text in found:
            if not self.allows(ipaddress.ip_address(text.split("%")[0])):
                shown = host if host == text else f"{host} ({text})"
                raise BlockedAddress(
                    f"{shown} is a private, loopback or link-local address: calls there are blocked to "
                    "protect the network Baton runs in. An operator can allow it with OUTBOUND_ALLOW."
                )
        return found


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
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        addresses = self._policy.check(host, (str(info[4][0]) for info in infos))
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


def outbound_client(policy: OutboundPolicy, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client whose every connection the policy checks (also after redirects)."""
    return httpx.AsyncClient(transport=guarded_transport(policy), **kwargs)


def policy_for(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy(settings.outbound_allow, settings.integration_base_urls.values())
