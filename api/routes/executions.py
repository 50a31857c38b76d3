"""Executions: list and inspect (with a Temporal Web UI link), cancel, retry, resume, approval decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response, status

from api.audit import AuditorDep
from api.deps import (
    ResourcesDep,
    SessionDep,
    WorkspaceAccess,
    executions_out,
    one_execution_detail,
    one_execution_out,
    workspace_access,
)
from api.errors import error_responses
from api.pagination import Cursor, Limit, decode_cursor, page
from api.schemas.base import Page
from api.schemas.executions import (
    BulkReplayBody,
    BulkReplayOut,
    DecisionBody,
    ExecutionDetail,
    ExecutionOut,
    PauseBody,
    ResumeBody,
    Timeline,
    TimelineItem,
    UnpauseBody,
)
from core.contract import Decision
from core.models import ExecutionStatus
from core.permissions import Permission
from core.runs import reads as store
from core.runs.batches import ReplayFilter
from core.runs.timeline import timeline

router = APIRouter(prefix="/workspaces/{workspace_id}/executions", tags=["executions"])
ERRORS = error_responses(401, 403, 404, 409, 422)

Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]
Operator = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "executions:write"))]


async def audit(
    auditor: Any, access: WorkspaceAccess, action: str, execution_id: str, metadata: Any = None
) -> None:
    """The audit log entry of what a caller did to an execution."""
    await auditor.record(
        action,
        principal=access.principal,
        entity_type="execution",
        entity_id=execution_id,
        workspace_id=access.workspace.id,
        **({"metadata": metadata} if metadata is not None else {}),
    )


async def replay_in_bulk(
    action: str,
    body: BulkReplayBody,
    access: WorkspaceAccess,
    resources: Any,
    auditor: Any,
    response: Response,
) -> BulkReplayOut:
    chosen = ReplayFilter(
        workflow_id=body.workflow_id,
        statuses=tuple(body.status),
        since=body.since,
        until=body.until,
        error_contains=body.error_contains,
    )
    runs = await resources.run_service()
    answer = await runs.replay_in_bulk(
        access.workspace.id,
        action,
        chosen,
        body.limit,
        latest_version=body.latest_version,
        dry_run=body.dry_run,
        requested_by=access.principal.user.id,
    )
    if body.dry_run:
        response.status_code = status.HTTP_200_OK
    else:
        await auditor.record(
            f"executions.{action}_batch",
            principal=access.principal,
            entity_type="batch",
            entity_id=answer["batchId"],
            workspace_id=access.workspace.id,
            metadata={"filter": body.model_dump(mode="json", by_alias=True), "total": answer["total"]},
        )
    return BulkReplayOut.model_validate(answer)


BULK_RESPONSES = {**ERRORS, 200: {"description": "A dry run: what matches (nothing started)"}}


@router.post(
    "/retry", status_code=status.HTTP_202_ACCEPTED, response_model=BulkReplayOut, responses=BULK_RESPONSES
)
async def retry_in_bulk(
    body: BulkReplayBody, access: Operator, resources: ResourcesDep, auditor: AuditorDep, response: Response
) -> BulkReplayOut:
    """Retries every run that matches (at most `limit`, oldest first) as a durable batch: each from the
    start with its trigger data, counting towards its `maxRetries`; `dryRun` counts and starts nothing.
    Follow it at `GET .../executions/batches/{batchId}`."""
    return await replay_in_bulk("retry", body, access, resources, auditor, response)


@router.post(
    "/resume", status_code=status.HTTP_202_ACCEPTED, response_model=BulkReplayOut, responses=BULK_RESPONSES
)
async def resume_in_bulk(
    body: BulkReplayBody, access: Operator, resources: ResourcesDep, auditor: AuditorDep, response: Response
) -> BulkReplayOut:
    """Resumes every run that matches (at most `limit`, oldest first) as a durable batch: each reuses what
    succeeded and starts at the step that failed (`latestVersion`: on the latest published version);
    `dryRun` counts and starts nothing. Follow it at `GET .../executions/batches/{batchId}`."""
    return await replay_in_bulk("resume", body, access, resources, auditor, response)


@router.get("/batches/{batch_id}", response_model=BulkReplayOut, responses=ERRORS)
async def get_batch(batch_id: str, access: Reader, resources: ResourcesDep) -> BulkReplayOut:
    """A bulk retry's or resume's progress: how many runs it has done, started and skipped, and each
    run's outcome (the first 200)."""
    progress = await (await resources.run_service()).batch(access.workspace.id, batch_id)
    return BulkReplayOut.model_validate(progress)


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
    return await one_execution_detail(session, execution, resources)


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
    """Ask the run to stop; it ends as CANCELLED once its current step lets go, or, when it has not stopped
    CANCEL_GRACE_SECONDS later, is terminated in Temporal and ends CANCELLED all the same."""
    execution = await store.get(session, access.workspace.id, execution_id)
    await (await resources.run_service()).cancel(execution.id)
    await audit(auditor, access, "execution.cancelled", execution.id)
    return await one_execution_out(session, execution, resources)


@router.post(
    "/{execution_id}/pause",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    responses=ERRORS,
)
async def pause(
    execution_id: str,
    body: PauseBody,
    access: Operator,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> ExecutionOut:
    """Parks the run before its next step (steps under way finish first); its `live` shows the step it
    waits before (`waiting` for `pause`) until `POST .../unpause`. It survives restarts while paused."""
    execution = await store.get(session, access.workspace.id, execution_id)
    await (await resources.run_service()).pause(execution.id, access.principal.user.id, body.reason)
    await audit(auditor, access, "execution.paused", execution.id, {"reason": body.reason})
    return await one_execution_out(session, execution, resources)


@router.post(
    "/{execution_id}/unpause",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    responses=ERRORS,
)
async def unpause(
    execution_id: str,
    body: UnpauseBody,
    access: Operator,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> ExecutionOut:
    """Lets a paused run go on. A step that failed under `onError: "pause"` is tried again, in the same
    run (with `stepInput` instead of its own input when given), or with `giveUp` fails the run. A pause
    asked for and not yet reached is withdrawn. 409 when there is nothing to unpause, naming what the run
    waits for instead ("the run is not paused: it waits for approval of step `approve`")."""
    execution = await store.get(session, access.workspace.id, execution_id)
    await (await resources.run_service()).unpause(
        execution.id,
        access.principal.user.id,
        step_input=body.step_input,
        give_up=body.give_up,
        latest_version=body.latest_version,
    )
    await audit(
        auditor,
        access,
        "execution.unpaused",
        execution.id,
        {"giveUp": body.give_up, "stepInput": body.step_input is not None},
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
    await audit(auditor, access, "execution.retried", started.execution_id, {"retryOf": execution_id})
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
    """A new run that reuses what succeeded and starts at the step that failed, or at `fromStep`; with
    `triggerData` and `stepOutputs`, on an edited trigger and edited outputs of the steps before it."""
    await store.get(session, access.workspace.id, execution_id)
    edits: dict[str, Any] = {}
    if "trigger_data" in body.model_fields_set:
        edits["trigger_data"] = body.trigger_data
    started = await (await resources.run_service()).resume(
        execution_id,
        latest_version=body.latest_version,
        from_step=body.from_step,
        step_outputs=body.step_outputs,
        **edits,
    )
    await auditor.record(
        "execution.resumed",
        principal=access.principal,
        entity_type="execution",
        entity_id=started.execution_id,
        workspace_id=access.workspace.id,
        metadata={
            "resumedFrom": execution_id,
            "latestVersion": body.latest_version,
            "fromStep": body.from_step,
            "edited": sorted({"triggerData"} & set(body.model_dump(by_alias=True, exclude_unset=True)))
            + sorted(body.step_outputs or {}),
        },
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
    decision = Decision(
        step_id, body.approved, by=access.principal.user.id, comment=body.comment, arguments=body.arguments
    )
    answer = await runs.decide(execution.id, decision, idempotency_key)
    await audit(
        auditor, access, "execution.decided", execution.id, {"stepId": step_id, "approved": body.approved}
    )
    return {**answer, "by": access.principal.user.id}
