"""The approvals inbox: what a workspace's runs wait on someone to decide."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ResourcesDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.schemas.base import Page
from api.schemas.executions import ApprovalOut
from core.permissions import Permission
from core.runs.approvals import ApprovalStatus, list_approvals

router = APIRouter(prefix="/workspaces/{workspace_id}/approvals", tags=["executions"])
ERRORS = error_responses(401, 403, 404, 422)
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]


@router.get("", response_model=Page[ApprovalOut], responses=ERRORS)
async def list_pending(
    access: Reader,
    resources: ResourcesDep,
    status: Annotated[
        ApprovalStatus, Query(description="pending (the default: runs wait on them), decided, or all")
    ] = "pending",
    workflow_id: Annotated[str | None, Query(alias="workflowId")] = None,
    execution_id: Annotated[str | None, Query(alias="executionId")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ApprovalOut]:
    """Approval steps, newest request first, with the caller's right to decide each: decide with
    `POST .../executions/{executionId}/steps/{stepId}/decision`."""
    async with resources.engine.connect() as connection:
        approvals = await list_approvals(
            connection,
            access.workspace.id,
            status=status,
            workflow_id=workflow_id,
            execution_id=execution_id,
            limit=limit,
        )
    may = access.may(Permission.EDIT, "executions:write")
    user_id = access.principal.user.id
    base = f"/api/v1/workspaces/{access.workspace.id}/executions"
    return Page(
        items=[
            ApprovalOut.model_validate(
                {
                    **asdict(a),
                    "can_decide": may and a.may_decide(user_id),
                    "decide_url": f"{base}/{a.execution_id}/steps/{a.step_id}/decision",
                }
            )
            for a in approvals
        ]
    )
