"""Executions: list and inspect (with a Temporal Web UI link), cancel, retry, resume, approval decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, status

from api.audit import AuditorDep
from api.deps import (
    ResourcesDep,
    SessionDep,
    WorkspaceAccess,
    execution_out,
    executions_out,
    one_execution_out,
    workspace_access,
)
from api.errors import error_responses
from api.pagination import Cursor, Limit, decode_cursor, page
from api.schemas.base import Page
from api.schemas.workflows import (
    DecisionBody,
    ExecutionDetail,
    ExecutionOut,
    ResumeBody,
    StepExecutionOut,
    Timeline,
    TimelineItem,
)
from core.contract import Decision
from core.models import ExecutionStatus
from core.permissions import Permission
from core.runs import live
from core.runs import reads as store
from core.runs.timeline import timeline

router = APIRouter(prefix="/workspaces/{workspace_id}/executions", tags=["executions"])
ERRORS = error_responses(401, 403, 404, 409, 422)

Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]
Operator = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "executions:write"))]


@router.get("", response_model=Page[ExecutionOut], responses=ERRORS)
async def list_executions(
    access: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    workflow_id: Annotated[str | None, Query(alias="workflowId")] = None,
    status_: Annotated[ExecutionStatus | None, Query(alias="status")] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="Created at or after (ISO-8601)")
    ] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Created before (ISO-8601)")] = None,
    state: Annotated[
        Literal["pending", "running", "retrying", "rateLimited", "waiting"] | None,
        Query(
            description="Runs not ended whose `live.state` is this (e.g. `waiting`: parked on an approval, "
            "a delay or a subworkflow)"
        ),
    ] = None,
) -> Page[ExecutionOut]:
    rows = await store.list_page(
        session,
        access.workspace.id,
        limit=limit,
        cursor=decode_cursor(cursor),
        workflow_id=workflow_id,
        status=status_,
        since=since,
        until=until,
        state=state,
    )
    items, next_cursor = page(rows, limit)
    return Page(items=await executions_out(session, items, resources), next_cursor=next_cursor)


@router.get("/{execution_id}", response_model=ExecutionDetail, responses=ERRORS)
async def get(
    execution_id: str, access: Reader, session: SessionDep, resources: ResourcesDep
) -> ExecutionDetail:
    execution = await store.get(session, access.workspace.id, execution_id)
    rows = await store.steps(session, execution_id)
    steps = [StepExecutionOut.model_validate(s) for s in rows]
    # `live` from the same rows as `stepExecutions`: a row written between two reads cannot show in one only
    status = str(execution.status.value if hasattr(execution.status, "value") else execution.status)
    slot = (await store.waiting_for_slots(session, [execution.id])).get(execution.id)
    shown = live.run_live(status, [r.model_dump() for r in rows if r.state is not None], slot)
    return ExecutionDetail.model_validate(
        {**execution_out(execution, resources, shown).model_dump(), "step_executions": steps}
    )


@router.get("/{execution_id}/timeline", response_model=Timeline, responses=ERRORS)
async def get_timeline(
    execution_id: str, access: Reader, session: SessionDep, resources: ResourcesDep
) -> Timeline:
    """The steps in the order they ran, loop items and parallel branches included, each placed in the
    definition (parent step, branch, depth) with its status, attempts, timing and the branch it took: what
    a UI or `baton runs show` draws as a tree."""
    execution = await store.get(session, access.workspace.id, execution_id)
    rows = await store.steps(session, execution_id)
    definition = await store.definition_run(session, execution)
    out = await one_execution_out(session, execution, resources)
    return Timeline(
        execution_id=execution.id,
        status=execution.status,
        live=out.live,
        items=[TimelineItem.model_validate(item) for item in timeline(definition, rows)],
    )


@router.post(
    "/{execution_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    responses=ERRORS,
)
async def cancel(
    execution_id: str, access: Operator, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> ExecutionOut:
    """Ask the run to stop; it ends as CANCELLED once its current step lets go."""
    execution = await store.get(session, access.workspace.id, execution_id)
    await (await resources.run_service()).cancel(execution.id)
    await auditor.record(
        "execution.cancelled",
        principal=access.principal,
        entity_type="execution",
        entity_id=execution.id,
        workspace_id=access.workspace.id,
    )
    return await one_execution_out(session, execution, resources)


@router.post(
    "/{execution_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    responses=ERRORS,
)
async def retry(
    execution_id: str, access: Operator, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> ExecutionOut:
    """Run again from the start with the same trigger data (counts towards `maxRetries`)."""
    await store.get(session, access.workspace.id, execution_id)
    started = await (await resources.run_service()).retry(execution_id)
    await auditor.record(
        "execution.retried",
        principal=access.principal,
        entity_type="execution",
        entity_id=started.execution_id,
        workspace_id=access.workspace.id,
        metadata={"retryOf": execution_id},
    )
    await session.commit()
    started_row = await store.get(session, access.workspace.id, started.execution_id)
    return await one_execution_out(session, started_row, resources)


@router.post(
    "/{execution_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    responses=ERRORS,
)
async def resume(
    execution_id: str,
    body: ResumeBody,
    access: Operator,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> ExecutionOut:
    """A new run that reuses what succeeded and starts at the step that failed."""
    await store.get(session, access.workspace.id, execution_id)
    started = await (await resources.run_service()).resume(execution_id, latest_version=body.latest_version)
    await auditor.record(
        "execution.resumed",
        principal=access.principal,
        entity_type="execution",
        entity_id=started.execution_id,
        workspace_id=access.workspace.id,
        metadata={"resumedFrom": execution_id, "latestVersion": body.latest_version},
    )
    await session.commit()
    started_row = await store.get(session, access.workspace.id, started.execution_id)
    return await one_execution_out(session, started_row, resources)


@router.post("/{execution_id}/steps/{step_id}/decision", responses=ERRORS)
async def decide(
    execution_id: str,
    step_id: str,
    body: DecisionBody,
    access: Operator,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Sending the decision again with the same key (after a 503, a lost answer) answers "
            "the first one's outcome instead of a 409 for a step already decided",
        ),
    ] = None,
) -> dict[str, object]:
    """Approve or reject an approval step that is waiting; the decision records who made it. A decision sent
    before the run has first run (just started, or its worker busy) waits for the step."""
    execution = await store.get(session, access.workspace.id, execution_id)
    # The update waits for the run's worker (seconds when it must replay a run evicted from its cache):
    # end the read's transaction first, so the request does not hold a pooled connection meanwhile (50
    # decisions at once exhausted the pool: 30 s waits and 500s, ~4 decisions/s).
    await session.commit()
    runs = await resources.run_service()
    decision = Decision(step_id, body.approved, by=access.principal.user.id, comment=body.comment)
    answer = await runs.decide(execution.id, decision, idempotency_key)
    await auditor.record(
        "execution.decided",
        principal=access.principal,
        entity_type="execution",
        entity_id=execution.id,
        workspace_id=access.workspace.id,
        metadata={"stepId": step_id, "approved": body.approved},
    )
    return {**answer, "by": access.principal.user.id}
