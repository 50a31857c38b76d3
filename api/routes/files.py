"""A run's files (core.files): `GET .../executions/{executionId}/files/{fileId}` streams one, with the run's
own access rule, always as an attachment that is never sniffed (its declared type is not trusted)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from core.files import open_file, run_file, serving_headers
from core.permissions import Permission

router = APIRouter(prefix="/workspaces/{workspace_id}/executions", tags=["executions"])
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]


@router.get(
    "/{execution_id}/files/{file_id}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file's bytes, streamed; Content-Disposition: attachment with its name",
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "%PDF-1.7 ... (the file's bytes, as its declared Content-Type)",
                }
            },
        },
        **error_responses(401, 403, 404),
    },
    summary="Download a file a run made or received",
)
async def download_file(
    execution_id: str, file_id: str, access: Reader, session: SessionDep, resources: ResourcesDep
) -> StreamingResponse:
    """A file of the run (an upload in `trigger.files`, a download, an attachment): 404 when the run is not
    this workspace's or the file not the run's, as for the run itself."""
    workspace = access.workspace.id
    ref = await run_file(session, resources.blobs, workspace, execution_id, file_id)
    return StreamingResponse(open_file(resources.blobs, workspace, ref), headers=serving_headers(ref))
