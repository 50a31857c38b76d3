"""Every socket an integration opens goes through the one egress guard (core.outbound).

Each case runs an integration's own code (an action, a poll, a connection test, the OAuth exchange) with an
EMPTY allow-list against a listener on 127.0.0.1 that counts the TCP connections it accepts: the guard must
refuse before any connection is made, so the listener sees none. A second part runs real workflows, with the
suite's usual allow-list (127.0.0.1 open), against Baton's own PostgreSQL and Redis: refused all the same.
A last part reads the source: a new integration that opens a connection some other way fails it.
"""

from __future__ import annotations

import ast
import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core import oauth
from core.outbound import OutboundPolicy, outbound_client
from core.settings import Settings
from integrations.catalogue import get_integration
from integrations.context import ActionContext, ActionError
from tests.integrations.conftest import Studio

ROOT = Path(__file__).resolve().parents[2]


class Listener:
    """A TCP listener on 127.0.0.1 that counts what it accepts (and closes it at once)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    server = Listener()
    await server.start()
    yield server
    await server.close()


def context(integration_id: str, credentials: dict[str, Any], http: Any) -> ActionContext:
    integration = get_integration(integration_id)
    assert integration is not None
    return integration.context(credentials, http, logging.getLogger("test"))


async def action(integration_id: str, key: str, data: dict[str, Any], ctx: ActionContext) -> Any:
    integration = get_integration(integration_id)
    assert integration is not None
    spec = integration.actions[key]
    assert spec.run is not None
    return await spec.run(spec.input_model.model_validate(data), ctx)


async def poll(integration_id: str, key: str, config: dict[str, Any], ctx: ActionContext) -> Any:
    integration = get_integration(integration_id)
    assert integration is not None
    spec = integration.triggers[key]
    assert spec.poll is not None
    assert spec.config_model is not None
    return await spec.poll(spec.config_model.model_validate(config), ctx, {})


async def connection_test(integration_id: str, ctx: ActionContext) -> None:
    integration = get_integration(integration_id)
    assert integration is not None
    assert integration.test is not None
    await integration.test(ctx)


def mail(**more: Any) -> dict[str, Any]:
    return {"username": "u", "password": "p", "smtpSecurity": "none", "imapSecurity": "none", **more}


Opener = Callable[[int, Any], Awaitable[Any]]
# Each way Baton's integrations open a socket, aimed at the listener's port.
OPENERS: dict[str, Opener] = {
    "http.request": lambda port, http: action(
        "http", "request", {"url": f"http://127.0.0.1:{port}/"}, context("http", {}, http)
    ),
    "http.request by name": lambda port, http: action(
        "http", "request", {"url": f"http://localhost:{port}/"}, context("http", {}, http)
    ),
    "http.request over IPv4-in-IPv6 (NAT64)": lambda port, http: action(
        "http", "request", {"url": f"http://[64:ff9b::7f00:1]:{port}/"}, context("http", {}, http)
    ),
    "rss.new_item": lambda port, http: poll(
        "rss", "new_item", {"url": f"http://127.0.0.1:{port}/feed"}, context("rss", {}, http)
    ),
    "slack (connection test)": lambda port, http: connection_test(
        "slack", context("slack", {"accessToken": "t", "baseUrl": f"http://127.0.0.1:{port}/api"}, http)
    ),
    "github (connection test)": lambda port, http: connection_test(
        "github", context("github", {"token": "t", "baseUrl": f"http://127.0.0.1:{port}"}, http)
    ),
    "gmail.send_email": lambda port, http: action(
        "gmail",
        "send_email",
        {"to": "a@example.com", "subject": "s", "body": "t"},
        context("gmail", {"accessToken": "t", "baseUrl": f"http://127.0.0.1:{port}"}, http),
    ),
    "postgres.query (connection string)": lambda port, http: action(
        "postgres",
        "query",
        {"query": "SELECT 1"},
        context("postgres", {"connectionString": f"postgresql://u@127.0.0.1:{port}/db"}, http),
    ),
    "postgres.query (host by name)": lambda port, http: action(
        "postgres",
        "query",
        {"query": "SELECT 1"},
        context("postgres", {"host": "localhost", "port": port, "database": "d", "user": "u"}, http),
    ),
    "postgres (connection test)": lambda port, http: connection_test(
        "postgres", context("postgres", {"connectionString": f"postgresql://u@127.0.0.1:{port}/db"}, http)
    ),
    "postgres.new_row": lambda port, http: poll(
        "postgres",
        "new_row",
        {"table": "t", "column": "id"},
        context("postgres", {"connectionString": f"postgresql://u@127.0.0.1:{port}/db"}, http),
    ),
    "email.send (SMTP)": lambda port, http: action(
        "email",
        "send",
        {"to": "a@example.com", "subject": "s", "text": "t"},
        context("email", mail(smtpHost="127.0.0.1", smtpPort=port), http),
    ),
    "email (connection test, SMTP)": lambda port, http: connection_test(
        "email", context("email", mail(smtpHost="localhost", smtpPort=port), http)
    ),
    "email (connection test, IMAP)": lambda port, http: connection_test(
        "email", context("email", mail(imapHost="127.0.0.1", imapPort=port), http)
    ),
    "email.new_email (IMAP)": lambda port, http: poll(
        "email", "new_email", {}, context("email", mail(imapHost="127.0.0.1", imapPort=port), http)
    ),
}


@pytest.mark.parametrize("name", list(OPENERS))
async def test_no_integration_reaches_a_local_listener_with_an_empty_allow_list(
    name: str, listener: Listener
) -> None:
    async with outbound_client(OutboundPolicy()) as http:
        with pytest.raises(ActionError) as raised:
            await OPENERS[name](listener.port, http)
    assert raised.value.type == "BlockedAddress", raised.value.message
    assert raised.value.retryable is False
    assert listener.accepted == 0


@pytest.mark.parametrize("name", ["postgres.query (connection string)", "email.send (SMTP)"])
async def test_without_the_guarded_client_no_socket_is_opened_at_all(name: str, listener: Listener) -> None:
    import httpx

    async with httpx.AsyncClient() as plain:  # a context built without the guard: fail closed
        with pytest.raises(ActionError, match="no egress guard"):
            await OPENERS[name](listener.port, plain)
    assert listener.accepted == 0


@pytest.mark.parametrize(
    "connection_string",
    [
        "postgresql:///db?host=/var/run/postgresql",  # a unix socket
        "postgresql://u@/db",  # no host: libpq's local socket or PGHOST
        "postgresql://u@8.8.8.8,127.0.0.1/db",  # several hosts
        "postgresql://u@8.8.8.8/db?hostaddr=127.0.0.1",  # the address libpq would really use
    ],
)
async def test_a_connection_string_cannot_name_a_socket_the_guard_never_sees(connection_string: str) -> None:
    async with outbound_client(OutboundPolicy()) as http:
        with pytest.raises(ActionError) as raised:
            await action(
                "postgres",
                "query",
                {"query": "SELECT 1"},
                context("postgres", {"connectionString": connection_string}, http),
            )
    assert raised.value.type == "InvalidCredentials"


async def test_the_oauth_code_exchange_is_guarded(listener: Listener) -> None:
    client = oauth.OAuthClient(
        "slack",
        "id",
        "secret",
        "http://x/authorize",
        f"http://127.0.0.1:{listener.port}/token",
        (),
        True,
        " ",
        (),
    )
    async with outbound_client(OutboundPolicy()) as http:
        with pytest.raises(oauth.ProviderError, match="private, loopback"):
            await oauth.exchange_code(http, client, "code", "http://baton/callback", None)
        with pytest.raises(oauth.ProviderError, match="private, loopback"):
            await oauth.refresh_tokens(http, client, "refresh")
    assert listener.accepted == 0


async def test_a_workflow_cannot_read_batons_own_database_or_redis(
    studio: Studio, settings: Settings, database_url: str
) -> None:
    """The critical finding: with 127.0.0.1 allowed (as the suite allows it), a member's postgres step read
    every tenant's password hashes from Baton's own database. It is refused now, by address and by name."""
    db = urlsplit(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    redis = urlsplit(settings.redis_url)
    by_address = await studio.connect("postgres", {"connectionString": db.geturl()})
    by_name = await studio.connect(
        "postgres",
        {"host": "localhost", "port": db.port or 5432, "database": db.path.lstrip("/"), "user": db.username},
    )
    steps: list[dict[str, Any]] = [
        {
            "id": f"steal{index}",
            "type": "action",
            "action": "postgres.query",
            "connectionId": connection,
            "input": {"query": "SELECT email, password_hash FROM users"},
            "onError": "continue",
        }
        for index, connection in enumerate([by_address, by_name])
    ]
    steps.append(
        {
            "id": "redis",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": f"http://127.0.0.1:{redis.port}/", "body": "FLUSHALL\r\n"},
            "onError": "continue",
        }
    )
    workflow = await studio.publish(steps)
    execution = await studio.run(workflow, {})
    for step in ("steal0", "steal1", "redis"):
        row = execution["steps"][step]
        assert row["status"] == "FAILED", row
        assert "Baton's own servers" in str(row["error"]), row["error"]
        assert "password_hash" not in str(row.get("output"))


# --- the source: no integration opens a connection except through the guard -------------------------------

# Calls that open a socket. Inside the packages that run for workflows (integrations, activities, worker),
# only the places below may make them, each reviewed to connect to an address `OutboundPolicy.resolve`
# answered (or to the guarded HTTP client). Adding one here means showing it goes through the guard.
SOCKET_CALLS = {
    "asyncpg.connect",
    "asyncpg.create_pool",
    "aiosmtplib.send",
    "aiosmtplib.SMTP",
    "smtplib.SMTP",
    "smtplib.SMTP_SSL",
    "imaplib.IMAP4",
    "imaplib.IMAP4_SSL",
    "poplib.POP3",
    "ftplib.FTP",
    "socket.socket",
    "socket.create_connection",
    "asyncio.open_connection",
    "httpx.AsyncClient",
    "httpx.Client",
    "httpx2.AsyncClient",  # the MCP SDK's HTTP library
    "httpx2.Client",
    "httpx.get",
    "httpx.post",
    "httpx.request",
    "urllib.request.urlopen",
    "http.client.HTTPConnection",
    "http.client.HTTPSConnection",
}
REVIEWED = {
    ("integrations/postgres.py", "connect", "asyncpg.connect"),  # host = a resolved address
    ("integrations/mail.py", "send", "aiosmtplib.send"),  # hostname = a resolved address
    ("integrations/mail.py", "test_connection", "aiosmtplib.SMTP"),  # hostname = a resolved address
    ("integrations/mail.py", "_imap", "imaplib.IMAP4_SSL"),  # host = a resolved address
    ("integrations/mail.py", "_imap", "imaplib.IMAP4"),  # host = a resolved address
    ("integrations/mcp_session.py", "exchange", "httpx2.AsyncClient"),  # transport = a bridge to ctx.http
}
NETWORK_MODULES = {
    "socket",
    "asyncio.streams",
    "requests",
    "aiohttp",
    "urllib3",
    "websockets",
    "paramiko",
    "pymongo",
    "motor",
    "redis",
    "psycopg",
    "psycopg2",
    "aiomysql",
    "pymysql",
    "ftplib",
    "telnetlib",
    "poplib",
    "smtplib",
    "http.client",
    "urllib.request",
}
# An integration imports no network library but those whose calls are listed in REVIEWED (activities and
# the worker hold Baton's own Redis and database clients, made in core from its settings).


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _socket_calls(path: Path) -> list[tuple[str, str, int]]:
    tree = ast.parse(path.read_text())
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Call) and _dotted(child.func) in SOCKET_CALLS:
                found.append((function, _dotted(child.func), child.lineno))
            visit(child, name)

    visit(tree, "<module>")
    return found


def test_integrations_open_connections_only_through_the_guard() -> None:
    unreviewed: list[str] = []
    for package in ("integrations", "activities", "worker"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for function, call, line in _socket_calls(path):
                if (relative, function, call) not in REVIEWED:
                    unreviewed.append(f"{relative}:{line} {function}() calls {call}")
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                for name in names:
                    top = {name, name.split(".")[0]}
                    if package == "integrations" and top & NETWORK_MODULES:
                        unreviewed.append(f"{relative}:{getattr(node, 'lineno', 0)} imports {name}")
    assert not unreviewed, (
        "these open connections outside the egress guard (core.outbound): use ctx.http, or resolve the host "
        "with ctx.resolve(host, port) and connect to the address it answers, then list the call in "
        "REVIEWED:\n" + "\n".join(unreviewed)
    )
    # every reviewed place still exists (a stale entry would hide a new call of the same name)
    present = {
        (path.relative_to(ROOT).as_posix(), function, call)
        for package in ("integrations",)
        for path in (ROOT / package).rglob("*.py")
        for function, call, _ in _socket_calls(path)
    }
    assert present >= REVIEWED


def test_the_api_opens_outbound_http_only_through_the_guard() -> None:
    """The API talks to services for connection tests and the OAuth exchange: only with the guarded client."""
    own = {("api/resources.py", "asyncpg.create_pool")}  # Baton's own database, from DATABASE_URL
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {call}"
        for path in sorted((ROOT / "api").rglob("*.py"))
        for _, call, line in _socket_calls(path)
        if (path.relative_to(ROOT).as_posix(), call) not in own
    ]
    assert not offenders, offenders
