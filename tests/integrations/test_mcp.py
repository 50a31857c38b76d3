"""The MCP client action end to end: the official MCP SDK's server (MCPServer, streamable HTTP, behind a
bearer token) plays the service; published workflows list its tools and call them with a connection that
holds the token; a refused token, a failing tool, an unknown tool, a page that is not MCP and an address the
egress guard refuses each fail the step with a message that says which."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.server_process import free_port, port_accepts
from core.outbound import OutboundPolicy, outbound_client
from integrations.catalogue import get_integration
from integrations.context import ActionError
from integrations.mcp_session import auth_headers
from tests.factories import action_step
from tests.integrations.conftest import Studio

TOKEN = "mcp-token-SECRET"


def tool_server() -> MCPServer:
    server = MCPServer("baton-test-tools", version="1.0")

    @server.tool(description="Add two numbers")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Say something back")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Always fails, saying why")
    def explode(reason: str) -> str:
        raise ToolError(f"the reactor is {reason}")

    return server


@dataclass
class Bearer:
    """ASGI middleware: only requests carrying the token reach the app; it counts what it saw."""

    app: ASGIApp
    token: str
    seen: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            given = headers.get(b"authorization", b"").decode()
            self.seen.append(given)
            if given != f"Bearer {self.token}":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error": "invalid_token"}'})
                return
        await self.app(scope, receive, send)


@dataclass
class Legacy:
    """Makes the server look like one of the 2025 protocol era, as most deployed servers are: it knows no
    `server/discover` (so the client falls back to the initialize handshake and its Mcp-Session-Id)."""

    app: ASGIApp
    methods: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "path": scope["path"].removeprefix("/legacy")}
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        self.methods.append(request.get("method", ""))
        self.sessions.append(dict(scope["headers"]).get(b"mcp-session-id", b"").decode())
        if request.get("method") == "server/discover":
            error = {
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32601, "message": "no such method"},
            }
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps(error).encode()})
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # then what the connection says next (its disconnect), as the app expects
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@dataclass
class RunningServer:
    url: str
    bearer: Bearer
    port: int
    legacy: Legacy


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[RunningServer]:
    """The SDK's server on 127.0.0.1 in a thread of its own (its own event loop, as a remote server has)."""
    bearer = Bearer(tool_server().streamable_http_app(), TOKEN)
    legacy = Legacy(bearer)

    async def not_mcp(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/page":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
            )
            await send({"type": "http.response.body", "body": b"<html>hello</html>"})
            return
        if scope["type"] == "http" and scope["path"].startswith("/legacy/"):
            await legacy(scope, receive, send)
            return
        await bearer(scope, receive, send)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(not_mcp, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if port_accepts(port):
            break
        threading.Event().wait(0.05)
    yield RunningServer(f"http://127.0.0.1:{port}/mcp", bearer, port, legacy)
    server.should_exit = True
    thread.join(10)


BEARER = {"type": "bearer", "token": TOKEN}


def call(step_id: str, connection: str, tool: str, arguments: Any, **more: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "action",
        "action": "mcp.call_tool",
        "connectionId": connection,
        "input": {"url": "{{ trigger.url }}", "tool": tool, "arguments": arguments, **more},
    }


async def test_a_workflow_lists_the_tools_of_an_mcp_server_and_calls_them_with_the_connections_token(
    studio: Studio, mcp_server: RunningServer
) -> None:
    connection = await studio.connect("mcp", BEARER)
    workflow = await studio.publish(
        [
            action_step("tools", "mcp.list_tools", {"url": "{{ trigger.url }}"}, connection),
            call("sum", connection, "add", {"a": "{{ trigger.a }}", "b": 3}),
            call(
                "say", connection, "echo", {"text": "sum is {{ steps.sum.output.structuredContent.result }}"}
            ),
        ]
    )
    before = len(mcp_server.bearer.seen)
    execution = await studio.run(workflow, {"url": mcp_server.url, "a": 2})
    assert execution["status"] == "SUCCESS", execution["error"]
    listed = execution["steps"]["tools"]["output"]
    assert listed["server"]["name"] == "baton-test-tools"
    tools = {t["name"]: t for t in listed["tools"]}
    assert sorted(tools) == ["add", "echo", "explode"]
    assert tools["add"]["description"] == "Add two numbers"
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]
    summed = execution["steps"]["sum"]["output"]
    assert summed["structuredContent"] == {"result": 5}
    assert summed["content"][0]["type"] == "text"
    assert summed["text"] == "5"
    assert summed["isError"] is False
    assert execution["steps"]["say"]["output"]["text"] == "sum is 5"
    # every request reached the server with the connection's token, and the token is nowhere in the run
    seen = mcp_server.bearer.seen[before:]
    assert seen
    assert set(seen) == {f"Bearer {TOKEN}"}
    assert TOKEN not in str(execution)


async def test_a_refused_token_fails_the_step_saying_to_reconnect(
    studio: Studio, mcp_server: RunningServer
) -> None:
    connection = await studio.connect("mcp", {"type": "bearer", "token": "stale-token"})
    workflow = await studio.publish([call("sum", connection, "add", {"a": 1, "b": 2})])
    execution = await studio.run(workflow, {"url": mcp_server.url})
    assert execution["status"] == "FAILED"
    step = execution["steps"]["sum"]
    assert step["status"] == "FAILED"
    assert "MCP server refused the connection's credentials (401: invalid_token)" in str(step["error"])
    assert "Reconnect" in execution["error"]
    assert [u["error"] for u in await studio.usage()] == ["AuthenticationFailed"]  # not retried


async def test_a_tool_error_fails_the_step_with_the_tools_message_unless_the_input_keeps_it(
    studio: Studio, mcp_server: RunningServer
) -> None:
    connection = await studio.connect("mcp", BEARER)
    workflow = await studio.publish(
        [
            call("kept", connection, "explode", {"reason": "warm"}, failOnToolError=False),
            call("failed", connection, "explode", {"reason": "melting"}),
        ]
    )
    execution = await studio.run(workflow, {"url": mcp_server.url})
    kept = execution["steps"]["kept"]
    assert kept["status"] == "SUCCESS"
    assert kept["output"]["isError"] is True
    assert "the reactor is warm" in kept["output"]["text"]
    assert execution["status"] == "FAILED"
    assert execution["steps"]["failed"]["status"] == "FAILED"
    assert "the tool 'explode' failed" in execution["error"]
    assert "the reactor is melting" in execution["error"]


async def test_an_unknown_tool_and_a_page_that_is_not_mcp_fail_their_steps_clearly(
    studio: Studio, mcp_server: RunningServer
) -> None:
    connection = await studio.connect("mcp", BEARER)
    page = mcp_server.url.replace("/mcp", "/page")
    workflow = await studio.publish(
        [
            {**call("unknown", connection, "nosuch", {}), "onError": "continue"},
            {
                "id": "page",
                "type": "action",
                "action": "mcp.list_tools",
                "input": {"url": page},
                "onError": "continue",
            },
        ]
    )
    execution = await studio.run(workflow, {"url": mcp_server.url})
    unknown = execution["steps"]["unknown"]
    assert unknown["status"] == "FAILED"
    assert "has no tool named 'nosuch' (its tools: add, echo, explode)" in str(unknown["error"])
    not_mcp = execution["steps"]["page"]
    assert not_mcp["status"] == "FAILED"
    assert "did not answer like an MCP server (it sent text/html" in str(not_mcp["error"])


async def run_action(key: str, data: dict[str, Any], credentials: dict[str, Any], allow: list[str]) -> Any:
    """The action's own code with a guarded client allowing `allow` (as OUTBOUND_ALLOW would)."""
    integration = get_integration("mcp")
    assert integration is not None
    spec = integration.actions[key]
    assert spec.run is not None
    async with outbound_client(OutboundPolicy(allow)) as http:
        ctx = integration.context(credentials, http, logging.getLogger("test"))
        return await spec.run(spec.input_model.model_validate(data), ctx)


@pytest.mark.parametrize("key", ["list_tools", "call_tool"])
async def test_with_an_empty_allow_list_the_guard_refuses_the_server_before_any_request(
    mcp_server: RunningServer, key: str
) -> None:
    before = len(mcp_server.bearer.seen)
    with pytest.raises(ActionError) as raised:
        await run_action(key, {"url": mcp_server.url, "tool": "add"}, BEARER, allow=[])
    assert raised.value.type == "BlockedAddress", raised.value.message
    assert raised.value.retryable is False
    assert "OUTBOUND_ALLOW" in raised.value.message
    assert len(mcp_server.bearer.seen) == before


async def test_an_unreachable_server_is_a_connection_error_that_is_retried() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(ActionError) as raised:
        await run_action("list_tools", {"url": url}, {}, allow=["127.0.0.1"])
    assert raised.value.type == "ConnectionError"
    assert raised.value.retryable is True
    assert f"MCP server at {url} is unreachable" in raised.value.message


@pytest.mark.parametrize(
    ("credentials", "header", "value"),
    [
        ({"type": "header", "name": "X-Api-Key", "value": "k1"}, "X-Api-Key", "k1"),
        ({"type": "basic", "username": "u", "password": "p"}, "Authorization", "Basic dTpw"),
        ({"accessToken": "oauth"}, "Authorization", "Bearer oauth"),
    ],
)
def test_a_connection_becomes_the_headers_of_every_request(
    credentials: dict[str, Any], header: str, value: str
) -> None:
    assert auth_headers(credentials) == {header: value}


def test_a_connection_without_its_secret_is_refused_before_any_request() -> None:
    with pytest.raises(ActionError) as raised:
        auth_headers({"type": "bearer"})
    assert raised.value.type == "InvalidCredentials"


async def test_a_server_of_the_2025_protocol_era_is_reached_through_the_initialize_handshake(
    mcp_server: RunningServer,
) -> None:
    url = mcp_server.url.replace("/mcp", "/legacy/mcp")
    listed = await run_action("list_tools", {"url": url}, BEARER, allow=["127.0.0.1"])
    assert listed.server.protocolVersion.startswith("2025-")
    assert [t.name for t in listed.tools] == ["add", "echo", "explode"]
    called = await run_action(
        "call_tool", {"url": url, "tool": "echo", "arguments": {"text": "hi"}}, BEARER, allow=["127.0.0.1"]
    )
    assert called.text == "hi"
    methods = mcp_server.legacy.methods
    assert methods[:4] == ["server/discover", "initialize", "notifications/initialized", "tools/list"]
    # after the handshake every request carries the session the server gave
    assert all(mcp_server.legacy.sessions[2:4])
