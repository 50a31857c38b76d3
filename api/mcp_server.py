"""Baton as an MCP server (streamable HTTP, the official SDK's low-level server): each workspace serves at
/api/v1/workspaces/{id}/mcp the published workflows that opt in (`triggerConfig.mcp`, core.mcp_tools) as
tools, plus `get_run_result`.

The route (api.routes.mcp) authenticates the caller (API key or access token) and checks its membership and
scopes before the SDK sees the request; it puts what it found under `scope["baton.mcp"]`, which the
handlers read from the request the SDK hands them, so a tool list or call only ever concerns the workspace
in the path. Listing needs `workflows:read`; calling needs the right to run workflows (MEMBER and up) and
`executions:write`. A call starts a run with the arguments as its payload (core.runs.starts: plan limits,
the published version) and answers with its result when it ends within the tool's `waitSeconds`, else with
its `executionId`, which `get_run_result` reads later.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from temporalio.client import WorkflowFailureError

from api.resources import Resources
from core import audit
from core.definition.triggers import payload_problem
from core.errors import BatonError
from core.mcp_tools import RESULT_TOOL, ServedTool, served_tools
from core.runs import reads as execution_reads

SCOPE_KEY = "baton.mcp"
RESULT_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"executionId": {"type": "string", "description": "What a tool call answered"}},
    "required": ["executionId"],
}


@dataclass(frozen=True)
class McpCaller:
    """Who calls, checked by the route: the workspace in the path and whether they may start runs."""

    workspace_id: str
    may_run: bool
    resources: Resources
    user_id: str | None = None
    api_key_id: str | None = None


def _caller(ctx: Any) -> McpCaller:
    request = getattr(ctx, "request", None)
    caller = request.scope.get(SCOPE_KEY) if request is not None else None
    if not isinstance(caller, McpCaller):  # only reachable through the route, which sets it
        raise PermissionError("no authenticated caller")
    return caller


def _answer(document: dict[str, Any], *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(document, default=str))],
        structured_content=document,
        is_error=error,
    )


async def _tools(caller: McpCaller) -> list[ServedTool]:
    async with caller.resources.engine.connect() as connection:
        return await served_tools(connection, caller.workspace_id)


async def list_tools(ctx: Any, _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    caller = _caller(ctx)
    tools = [
        types.Tool(name=t.name, description=t.description, input_schema=t.input_schema)
        for t in await _tools(caller)
    ]
    tools.append(
        types.Tool(
            name=RESULT_TOOL,
            description="The status and result of a run a tool call started and answered with its "
            "executionId (the run was still going)",
            input_schema=RESULT_TOOL_SCHEMA,
        )
    )
    return types.ListToolsResult(tools=tools)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    caller = _caller(ctx)
    arguments = dict(params.arguments or {})
    try:
        if params.name == RESULT_TOOL:
            return await _run_result(caller, str(arguments.get("executionId") or ""))
        tool = next((t for t in await _tools(caller) if t.name == params.name), None)
        if tool is None:
            return _answer({"error": "not_found", "detail": f"no tool {params.name!r}"}, error=True)
        if not caller.may_run:
            return _answer(
                {"error": "forbidden", "detail": "running workflows needs MEMBER+ and executions:write"},
                error=True,
            )
        if problem := payload_problem(tool.input_schema, arguments):
            where, why = problem
            return _answer({"error": "invalid_arguments", "detail": why, "path": where or None}, error=True)
        return await _start(caller, tool, arguments)
    except BatonError as exc:
        return _answer({"error": exc.kind, "detail": exc.detail, "path": exc.path}, error=True)


async def _start(caller: McpCaller, tool: ServedTool, arguments: dict[str, Any]) -> types.CallToolResult:
    runs = await caller.resources.run_service()
    started = await runs.start_manual(tool.workflow_id, arguments)
    async with caller.resources.sessions() as session:  # as the API's manual run is audited
        await audit.record(
            session,
            action="workflow.executed",
            entity_type="execution",
            entity_id=started.execution_id,
            user_id=caller.user_id,
            workspace_id=caller.workspace_id,
            metadata={
                "workflowId": tool.workflow_id,
                "version": started.version,
                "via": "mcp",
                **({"apiKeyId": caller.api_key_id} if caller.api_key_id else {}),
            },
        )
        await session.commit()
    try:
        await asyncio.wait_for(runs.handle(started.execution_id).result(), tool.wait_seconds)
    except (WorkflowFailureError, TimeoutError):
        pass  # the execution row says how it ended, or that it still runs
    return await _run_result(caller, started.execution_id)


async def _run_result(caller: McpCaller, execution_id: str) -> types.CallToolResult:
    async with caller.resources.sessions() as session:
        execution = await execution_reads.get(session, caller.workspace_id, execution_id)
    status = execution.status.value
    document: dict[str, Any] = {"executionId": execution.id, "status": status}
    if execution.completed_at is None:
        document["detail"] = f"still running: call {RESULT_TOOL} with this executionId later"
        return _answer(document)
    if status == "SUCCESS":
        return _answer({**document, "result": execution.result})
    return _answer({**document, "error": execution.error}, error=True)


def mcp_session_manager() -> StreamableHTTPSessionManager:
    """One per API process, run in its lifespan. Stateless: any API process answers any request, and
    every request is authenticated on its own."""
    server: Server[Any] = Server(
        "baton",
        version="0.1.0",
        instructions="Each tool runs a Baton workflow; a long run answers with an executionId to pass to "
        f"{RESULT_TOOL}.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    return StreamableHTTPSessionManager(server, stateless=True, json_response=True)
