"""One session with an MCP server for one step: the official SDK, every request through the egress guard.

The official MCP SDK speaks the protocol (version negotiation, JSON or SSE answers, the session header),
but it brings its own HTTP client library (httpx2), whose sockets the egress guard would never see. So the
SDK is handed an httpx2 client whose only transport is a bridge to the action's guarded `ctx.http`: every
request the SDK makes goes out through core.outbound like any other action's, and the bridge notes what
went wrong on the wire (refused address, unreachable host, a 401, an answer that is not MCP) so the step
fails with that rather than the SDK's generic JSON-RPC stand-ins.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.outbound import BlockedAddress
from integrations.context import auth_failed, service_message
from integrations.sdk import ActionContext, ActionError

# What one answer of the server may weigh once decoded: far above what a step may output (the activity's
# own limit), low enough that a server streaming without end cannot fill the worker's memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
SERVICE = "MCP server"

T = TypeVar("T")


class McpAuth(BaseModel):
    """What an `mcp` connection holds (encrypted at rest): the headers that authenticate to the server."""

    type: Literal["bearer", "header", "basic"] = Field(
        description="`bearer`: Authorization: Bearer <token>; `header`: <name>: <value>; `basic`: username "
        "and password"
    )
    token: str | None = Field(default=None, description="The bearer token (`bearer`)")
    name: str | None = Field(default=None, description="Header name (`header`), e.g. X-API-Key")
    value: str | None = Field(default=None, description="Header value (`header`)")
    username: str | None = None
    password: str | None = None


def auth_headers(credentials: dict[str, Any]) -> dict[str, str]:
    """The connection's authentication as request headers (none without a connection)."""
    if not credentials:
        return {}
    if "accessToken" in credentials and "type" not in credentials:  # an OAuth2 connection
        return {"Authorization": f"Bearer {credentials['accessToken']}"}
    try:
        auth = McpAuth.model_validate(credentials)
    except ValidationError as exc:
        raise ActionError(
            f"the connection's credentials are not usable for an MCP server: {exc}",
            type="InvalidCredentials",
            retryable=False,
        ) from exc
    if auth.type == "bearer" and auth.token:
        return {"Authorization": f"Bearer {auth.token}"}
    if auth.type == "header" and auth.name and auth.value:
        return {auth.name: auth.value}
    if auth.type == "basic" and auth.username is not None:
        basic = httpx.BasicAuth(auth.username, auth.password or "")
        return {"Authorization": basic._auth_header}  # noqa: SLF001
    raise ActionError(
        f"the MCP connection of type {auth.type!r} lacks its "
        + {"bearer": "token", "header": "name or value", "basic": "username"}[auth.type],
        type="InvalidCredentials",
        retryable=False,
    )


# --- the bridge: the SDK's HTTP requests, sent by the guarded client ---------------------------------------


@dataclass
class Wire:
    """What the bridge saw go wrong: the first transport failure and the first failing or foreign answer."""

    failure: Exception | None = None
    status: int | None = None
    message: str = ""
    foreign: str | None = None  # the content type of a 2xx answer that is neither JSON nor an event stream
    requests: int = field(default=0)


class _Body(httpx2.AsyncByteStream):
    def __init__(self, response: httpx.Response, wire: Wire) -> None:
        self._response = response
        self._wire = wire

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        try:
            async for chunk in self._response.aiter_bytes():
                total += len(chunk)
                if total > MAX_ANSWER_BYTES:
                    error = ActionError(
                        f"{SERVICE} answered more than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB",
                        type="OutputTooLarge",
                        retryable=False,
                    )
                    self._wire.failure = self._wire.failure or error
                    raise httpx2.ReadError(error.message)
                yield chunk
        except httpx.TimeoutException as exc:
            raise httpx2.ReadTimeout(str(exc)) from exc
        except httpx.TransportError as exc:
            raise httpx2.ReadError(str(exc)) from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class GuardedBridge(httpx2.AsyncBaseTransport):
    """An httpx2 transport that sends each request with the action's guarded httpx client."""

    def __init__(self, http: httpx.AsyncClient, wire: Wire) -> None:
        self._http = http
        self._wire = wire

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self._wire.requests += 1
        content = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        outgoing = self._http.build_request(
            request.method,
            str(request.url),
            headers=[(k, v) for k, v in request.headers.raw if k.lower() != b"accept-encoding"],
            content=content,
            timeout=httpx.Timeout(**timeouts) if timeouts else httpx.USE_CLIENT_DEFAULT,
        )
        try:
            response = await self._http.send(outgoing, stream=True, follow_redirects=False)
        except (BlockedAddress, httpx.TransportError) as exc:
            self._wire.failure = self._wire.failure or exc
            if isinstance(exc, httpx.TimeoutException):
                raise httpx2.ConnectTimeout(str(exc)) from exc
            raise httpx2.ConnectError(str(exc)) from exc
        # the body is handed on decoded, so its encoding and length headers no longer describe it
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _RECODED]
        if response.status_code >= 400:
            # Read now (bounded by the guard's own reads): the step's message quotes the server's words.
            body = await response.aread()
            await response.aclose()
            if self._wire.status is None:
                self._wire.status = response.status_code
                self._wire.message = service_message(response)
            return httpx2.Response(response.status_code, headers=headers, content=body)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and response.status_code == 200 and kind not in _MCP_TYPES:
            self._wire.foreign = self._wire.foreign or (kind or "no content type")
        return httpx2.Response(response.status_code, headers=headers, stream=_Body(response, self._wire))


_MCP_TYPES = frozenset({"application/json", "text/event-stream"})
_RECODED = frozenset({b"content-encoding", b"content-length"})


# --- the session --------------------------------------------------------------------------------------------


class ServerInput(BaseModel):
    url: str = Field(
        json_schema_extra={"format": "uri"},
        description="The server's streamable HTTP endpoint",
        examples=["https://mcp.example.com/mcp"],
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="More request headers (secrets belong in the connection)"
    )
    timeout_seconds: float = Field(
        default=60, gt=0, le=300, alias="timeoutSeconds", description="For the whole exchange with the server"
    )

    model_config = ConfigDict(populate_by_name=True)


def _unreachable(url: str, failure: Exception) -> ActionError:
    if isinstance(failure, ActionError):
        return failure
    if isinstance(failure, BlockedAddress):
        return ActionError(f"{SERVICE} at {url}: {failure}", type="BlockedAddress", retryable=False)
    if isinstance(failure, httpx.TimeoutException):
        return ActionError(f"{SERVICE} at {url} did not answer in time", type="Timeout")
    return ActionError(f"{SERVICE} at {url} is unreachable ({failure})", type="ConnectionError")


def _refused(url: str, wire: Wire) -> ActionError | None:
    """The HTTP-level reason an exchange failed, when there is one."""
    status = wire.status
    if status is None:
        if wire.foreign:
            return ActionError(
                f"{url} did not answer like an MCP server (it sent {wire.foreign}, not JSON-RPC); check the "
                "URL is the server's streamable HTTP endpoint (often ending in /mcp)",
                type="NotMCP",
                retryable=False,
            )
        return None
    reason = f"{status}: {wire.message}" if wire.message else str(status)
    if status in (401, 403):
        return auth_failed(SERVICE, reason)
    if status in (404, 405):
        return ActionError(
            f"{url} answered {reason}; no MCP endpoint there (check the URL, often ending in /mcp)",
            type="NotMCP",
            retryable=False,
        )
    return ActionError(
        f"{SERVICE} at {url} answered {reason}",
        type=f"HTTP{status}",
        retryable=status >= 500 or status in (408, 425, 429),
    )


async def exchange(data: ServerInput, ctx: ActionContext, work: Callable[[Client], Awaitable[T]]) -> T:
    """Runs `work` on a session with the server, within the step's time; whatever goes wrong becomes one
    ActionError, the wire's reason first (the SDK only knows a request failed, not that the guard refused the
    address or the server refused the token)."""
    parts = httpx.URL(data.url)
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ActionError(
            f"url must be the http(s) URL of an MCP endpoint, not {data.url!r}",
            type="InvalidInput",
            retryable=False,
        )
    wire = Wire()
    headers = {**data.headers, **auth_headers(ctx.credentials)}
    try:
        with anyio.fail_after(data.timeout_seconds):
            async with (
                httpx2.AsyncClient(
                    transport=GuardedBridge(ctx.http, wire),
                    headers=headers,
                    timeout=httpx2.Timeout(min(30.0, data.timeout_seconds), read=data.timeout_seconds),
                    trust_env=False,
                ) as http2,
                Client(
                    streamable_http_client(data.url, http_client=http2),
                    read_timeout_seconds=data.timeout_seconds,
                    cache=None,
                ) as client,
            ):
                return await work(client)
    except (Exception, BaseExceptionGroup) as exc:
        raise _failure(data, wire, exc) from exc


def _failure(data: ServerInput, wire: Wire, exc: BaseException) -> ActionError:
    """The step's error for what an exchange raised."""
    if isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
        return _failure(data, wire, (inner or list(exc.exceptions))[0])
    if isinstance(exc, ActionError):
        return exc
    if wire.failure is not None:
        return _unreachable(data.url, wire.failure)
    refused = _refused(data.url, wire)
    if refused is not None:
        return refused
    if isinstance(exc, TimeoutError):
        return ActionError(
            f"{SERVICE} at {data.url} did not finish in {data.timeout_seconds:g}s", type="Timeout"
        )
    if isinstance(exc, MCPError):
        return ActionError(
            f"{SERVICE} at {data.url} answered error {exc.code}: {exc.error.message}",
            type="MCPError",
            retryable=False,
            details={"code": exc.code, "data": _plain(exc.error.data)},
        )
    if isinstance(exc, ValidationError):
        return ActionError(
            f"{data.url} did not answer like an MCP server ({exc.error_count()} invalid fields)",
            type="NotMCP",
            retryable=False,
        )
    return ActionError(f"{SERVICE} at {data.url} failed: {type(exc).__name__}: {exc}", type="MCPError")


def _plain(value: Any) -> Any:
    """A JSON value (what an error's `data` may carry), else its text."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value
