"""Testing one step of a workflow's draft with given values (core.runs.drafts); draft runs with pinned
outputs are `POST .../run?draft=true` (api.routes.workflows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.audit import AuditorDep
from api.deps import (
    MAX_WAIT_SECONDS,
    ResourcesDep,
    SessionDep,
    WorkspaceAccess,
    started_run_out,
    workspace_access,
)
from api.errors import error_responses
from api.schemas.executions import ExecutionDetail, ExecutionOut
from api.schemas.workflows import StepTestBody
from core import workflows as store
from core.definition.base import STEP_ID_PATTERN
from core.permissions import Permission
from core.runs.drafts import DraftRuns

router = APIRouter(prefix="/workspaces/{workspace_id}/workflows", tags=["workflows"])
Runner = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "executions:write"))]


@router.post(
    "/{workflow_id}/steps/{step_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionDetail,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def try_step(
    workflow_id: str,
    step_id: Annotated[str, Path(pattern=STEP_ID_PATTERN, max_length=64)],
    body: StepTestBody,
    access: Runner,
    session: SessionDep,
    resources: ResourcesDep,
    response: Response,
    auditor: AuditorDep,
    timeout_seconds: Annotated[float, Query(alias="timeoutSeconds", gt=0, le=MAX_WAIT_SECONDS)] = 30,
) -> ExecutionOut:
    """Run one step of the saved draft alone, as a test run (the real call for an action), with the data its
    expressions read given in `context` (`trigger`, `steps` {id: output}, `vars`, or `executionId` to take
    them from an earlier run) and `input` replacing an action's input. Answers when the step has ended (200,
    with the step's row: its input, output, error) or at `timeoutSeconds` (202, still running)."""
    workflow = await store.get(session, access.workspace.id, workflow_id)
    runs = await resources.run_service()
    context = body.context
    started = await DraftRuns(runs.starts).test_step(
        workflow.id,
        step_id,
        step_input=body.input,
        trigger=context.trigger,
        outputs=context.steps,
        variables=context.vars,
        from_execution=context.execution_id,
    )
    await auditor.record(
        "workflow.step_tested",
        principal=access.principal,
        entity_type="execution",
        entity_id=started.execution_id,
        workspace_id=access.workspace.id,
        metadata={"workflowId": workflow.id, "stepId": step_id},
    )
    return await started_run_out(
        session,
        resources,
        access.workspace.id,
        started.execution_id,
        response,
        wait=timeout_seconds,
        with_steps=True,
    )
