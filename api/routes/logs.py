"""An execution's log (the seed's `execution_logs`), paged in time order, from the log store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from api.schemas.base import Page
from api.schemas.executions import LogEntryOut
from core.logstore import LogQuery
from core.permissions import Permission
from core.runs import reads as store

LEVELS = "(?i)^(info|warn|error)$"
router = APIRouter(prefix="/workspaces/{workspace_id}/executions", tags=["executions"])
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]


@router.get(
    "/{execution_id}/logs", response_model=Page[LogEntryOut], responses=error_responses(400, 401, 403, 404)
)
async def logs(
    execution_id: str,
    access: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    level: Annotated[
        str | None,
        Query(
            description="Only this level: info, warn or error (any case)", pattern="(?i)^(info|warn|error)$"
        ),
    ] = None,
    step_id: Annotated[str | None, Query(alias="stepId", description="Only this step's entries")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[LogEntryOut]:
    """The run's log in time order: one entry as it starts and ends, one per step with its duration and its
    input and output (secrets redacted). Entries are written in batches, so the newest may take a second."""
    await store.get(session, access.workspace.id, execution_id)  # 404 outside the workspace
    entries = await resources.log_store.logs(
        LogQuery(
            execution_id,
            level=level.lower() if level else None,
            step_id=step_id,
            after=decode_cursor(cursor),
            limit=limit + 1,
        )
    )
    next_cursor = None
    if len(entries) > limit:
        entries = entries[:limit]
        last = entries[-1]
        next_cursor = encode_cursor(last["timestamp"], last["id"])
    return Page(items=[LogEntryOut.model_validate(e) for e in entries], next_cursor=next_cursor)
