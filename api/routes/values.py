"""A run's values too large to inline (core.runs.values): `GET .../executions/{executionId}/values/{ref}`
answers one whole as JSON, streamed, with the run's own access rule (another workspace's run is not found)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import StreamingResponse

from api.deps import SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from core.permissions import Permission
from core.runs import values

router = APIRouter(prefix="/workspaces/{workspace_id}/executions", tags=["executions"])
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]
Ref = Annotated[
    str,
    Path(
        description="`trigger`, `result`, `steps/{stepExecutionId}/input` or "
        "`steps/{stepExecutionId}/output` (the `url` of a reference `{stored, size, contentType, url}`)",
        examples=["steps/6f1c2b9e-4d3a-4e1f-9b0a-1c2d3e4f5a6b/output"],
    ),
]


@router.get(
    "/{execution_id}/values/{ref:path}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The value as JSON, streamed (Content-Length: its `size`)",
            "content": {"application/json": {"schema": {}, "example": {"rows": [{"id": 1, "name": "Ada"}]}}},
        },
        **error_responses(401, 403, 404),
    },
    summary="Read a value of a run too large to inline",
)
async def read_value(execution_id: str, ref: Ref, access: Reader, session: SessionDep) -> StreamingResponse:
    """A run's trigger, result, or a step's input or output, whole: what the run's answer shows as
    `{stored: true, size, contentType, url}` past INLINE_VALUE_BYTES. 404 when the run is not this
    workspace's, or the ref names nothing of the run's."""
    value = await values.read(session, access.workspace.id, execution_id, ref)
    return StreamingResponse(
        value.chunks(),
        media_type=value.content_type,
        headers={"content-length": str(value.size), "x-content-type-options": "nosniff"},
    )
