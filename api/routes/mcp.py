"""A workspace's MCP server (api.mcp_server): the streamable HTTP endpoint, authenticated here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.types import Message, Receive, Scope, Send

from api.deps import ResourcesDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.mcp_server import SCOPE_KEY, McpCaller
from core.permissions import Permission

router = APIRouter(tags=["mcp"])
Lister = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "workflows:read"))]


class Delegated(Response):
    """Hands the request to an ASGI app (the MCP SDK's transport), which answers it itself. The body was
    read already (the app's request checks): it is given again, then the connection's own events."""

    def __init__(self, app: Any, body: bytes) -> None:
        super().__init__()
        self._app = app
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": self._body, "more_body": False}
            return await receive()

        await self._app(scope, replay, send)


MCP_PATH = "/workspaces/{workspace_id}/mcp"
# A JSON-RPC 2.0 message, as MCP's streamable HTTP transport sends and answers them
JSON_RPC: dict[str, Any] = {
    "type": "object",
    "required": ["jsonrpc"],
    "properties": {
        "jsonrpc": {"const": "2.0"},
        "id": {"type": ["string", "integer"]},
        "method": {"type": "string", "examples": ["tools/list", "tools/call"]},
        "params": {"type": "object"},
        "result": {"type": "object"},
        "error": {"type": "object"},
    },
}


# GET (a server-sent event stream) and DELETE (the end of a session) are the transport's too; one entry in
# the OpenAPI document describes the endpoint
@router.api_route(MCP_PATH, methods=["GET", "DELETE"], include_in_schema=False)
@router.post(
    MCP_PATH,
    responses={
        200: {"description": "The JSON-RPC answer", "content": {"application/json": {"schema": JSON_RPC}}},
        **error_responses(401, 403, 404),
    },
    response_class=Response,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": JSON_RPC}}},
    },
)
async def mcp_endpoint(request: Request, access: Lister, resources: ResourcesDep) -> Response:
    """The workspace's MCP server (streamable HTTP; point an MCP client here with an API key as its bearer
    token): its tools are the published workflows whose MANUAL trigger sets `mcp` (input schema from the
    trigger's `inputSchema`), plus `get_run_result`. Listing needs `workflows:read`; calling a tool starts a
    run and needs MEMBER or above and `executions:write`."""
    request.scope[SCOPE_KEY] = McpCaller(
        access.workspace.id,
        access.may(Permission.EDIT, "executions:write"),
        resources,
        access.principal.user.id,
        access.principal.api_key_id,
    )
    return Delegated(request.app.state.mcp.handle_request, await request.body())
