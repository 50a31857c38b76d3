"""MCP client: list and call the tools of any Model Context Protocol server over streamable HTTP, as steps.

The session with the server (the official SDK over the egress guard, and what its failures mean) is in
integrations/mcp_session.py; here are the integration, its connection and its two actions.
"""

from __future__ import annotations

import json
from typing import Any

from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field

from core.models import AuthType
from integrations.mcp_session import SERVICE, McpAuth, ServerInput, exchange
from integrations.sdk import ActionContext, ActionError, Integration

mcp = Integration(
    id="mcp",
    name="MCP Server",
    description="List and call the tools of any MCP (Model Context Protocol) server over streamable HTTP",
    icon="/static/icons/mcp.svg",
    category="developer",
    auth_type=AuthType.API_KEY,
    docs_url="https://modelcontextprotocol.io/specification",
)

mcp.example = """
Any MCP server that speaks streamable HTTP is a step. A connection holds its auth, sent as headers on every
request: `{"type": "bearer", "token": "..."}`, `{"type": "header", "name": "X-API-Key", "value": "..."}` or
`{"type": "basic", "username": "...", "password": "..."}`; a server without auth needs no connection. Every
request goes through the egress guard (`OUTBOUND_ALLOW` to reach a private address). List the tools once to
see their names and `inputSchema`, then call one:

```json
{"id": "weather", "type": "action", "action": "mcp.call_tool", "connectionId": "<connection id>",
 "input": {"url": "https://mcp.example.com/mcp", "tool": "get_forecast",
           "arguments": {"city": "{{ trigger.city }}", "days": 2}}}
```

Later steps read `steps.weather.output.text` (the text items joined), `.structuredContent` (the tool's
structured result) or `.content` (every item: `text` with `json` when the text is JSON, `image`/`audio` with
base64 `data` and `mimeType`, `resource` and `resource_link` with their `uri`). A result the tool marks as
an error fails the step with the tool's message, unless `failOnToolError` is false: then the step succeeds
with `isError: true`. A refused token fails the step saying to reconnect (not retried); an unreachable
server or a 5xx is retried; an unknown tool, or a URL that is not an MCP endpoint, fails with that said.
"""
mcp.credentials_model = McpAuth


MAX_TOOL_PAGES = 50  # a server whose cursor never ends cannot hold the step forever (the time limit aside)


class ServerInfo(BaseModel):
    name: str | None = None
    version: str | None = None
    protocolVersion: str  # noqa: N815


class ToolInfo(BaseModel):
    name: str
    title: str | None = None
    description: str | None = None
    inputSchema: dict[str, Any] = Field(description="JSON Schema of the tool's `arguments`")  # noqa: N815
    outputSchema: dict[str, Any] | None = Field(  # noqa: N815
        default=None, description="JSON Schema of its `structuredContent`, when it declares one"
    )


class ListToolsOutput(BaseModel):
    server: ServerInfo
    tools: list[ToolInfo]


def _server(client: Client) -> ServerInfo:
    info = client.server_info
    return ServerInfo(
        name=info.name if info else None,
        version=info.version if info else None,
        protocolVersion=client.protocol_version,
    )


async def _all_tools(client: Client) -> list[ToolInfo]:
    tools: list[ToolInfo] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += [
            ToolInfo(
                name=t.name,
                title=t.title,
                description=t.description,
                inputSchema=t.input_schema,
                outputSchema=t.output_schema,
            )
            for t in page.tools
        ]
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


@mcp.action(
    "list_tools",
    name="List Tools",
    description="List the tools an MCP server offers, each with its name, description and input JSON Schema",
    side_effects=False,
)
async def list_tools(data: ServerInput, ctx: ActionContext) -> ListToolsOutput:
    async def work(client: Client) -> ListToolsOutput:
        return ListToolsOutput(server=_server(client), tools=await _all_tools(client))

    return await exchange(data, ctx, work)


class CallToolInput(ServerInput):
    tool: str = Field(min_length=1, description="The tool's name, as list_tools shows it")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="The tool's arguments, as its inputSchema describes them"
    )
    fail_on_tool_error: bool = Field(
        default=True,
        alias="failOnToolError",
        description="A result the tool marks as an error fails the step with the tool's message; false keeps "
        "it as the output (`isError: true`) for later steps to read",
    )


class ContentItem(BaseModel):
    """One item of a tool's result: text (with `json` when the text is JSON), an image or audio (base64
    `data` and `mimeType`), an embedded resource or a link to one (`uri`)."""

    type: str
    text: str | None = None
    json_value: Any = Field(default=None, alias="json", description="The text parsed, when it is JSON")
    data: str | None = Field(default=None, description="Base64 bytes (image, audio, blob resource)")
    mimeType: str | None = None  # noqa: N815
    uri: str | None = None
    name: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class CallToolOutput(BaseModel):
    content: list[ContentItem]
    text: str = Field(description="The text items joined by new lines (what most tools answer)")
    structuredContent: Any = Field(default=None, description="The tool's structured result, if any")  # noqa: N815
    isError: bool = Field(description="The tool reported an error (kept only with failOnToolError false)")  # noqa: N815


def _parsed(text: str) -> Any:
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def content_item(block: Any) -> ContentItem:
    """Baton's shape of one MCP content block (any protocol version's)."""
    kind = str(getattr(block, "type", "unknown"))
    if kind == "text":
        return ContentItem(type=kind, text=block.text, json=_parsed(block.text))
    if kind in ("image", "audio"):
        return ContentItem(type=kind, data=block.data, mimeType=block.mime_type)
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        return ContentItem(
            type=kind,
            uri=str(resource.uri),
            mimeType=resource.mime_type,
            text=text,
            json=_parsed(text) if text else None,
            data=getattr(resource, "blob", None),
        )
    if kind == "resource_link":
        return ContentItem(type=kind, uri=str(block.uri), name=block.name, mimeType=block.mime_type)
    dumped = block.model_dump(mode="json", by_alias=True) if isinstance(block, BaseModel) else {}
    return ContentItem(type=kind, text=json.dumps(dumped))


async def _known(client: Client, data: CallToolInput) -> None:
    """Raises UnknownTool when the server does not list the tool: servers say "unknown tool" in many ways
    (an error code, a tool result, a message), its listing says it plainly."""
    names = {t.name for t in await _all_tools(client)}
    if data.tool not in names:
        known = ", ".join(sorted(names)[:20]) or "none"
        raise ActionError(
            f"{SERVICE} at {data.url} has no tool named {data.tool!r} (its tools: {known})",
            type="UnknownTool",
            retryable=False,
        )


@mcp.action(
    "call_tool",
    name="Call Tool",
    description="Call one tool of an MCP server with arguments and return its content and structured result",
)
async def call_tool(data: CallToolInput, ctx: ActionContext) -> CallToolOutput:
    async def work(client: Client) -> Any:
        try:
            result = await client.call_tool(data.tool, data.arguments)
        except MCPError:
            await _known(client, data)
            raise
        if result.is_error:
            await _known(client, data)
        return result

    result = await exchange(data, ctx, work)
    items = [content_item(block) for block in result.content]
    text = "\n".join(item.text for item in items if item.type == "text" and item.text is not None)
    if result.is_error and data.fail_on_tool_error:
        raise ActionError(
            f"the tool {data.tool!r} failed: {text[:500] or 'no message'}",
            type="ToolError",
            retryable=False,
            details={"content": [item.model_dump(mode="json", by_alias=True) for item in items][:10]},
        )
    return CallToolOutput(
        content=items, text=text, structuredContent=result.structured_content, isError=result.is_error
    )
