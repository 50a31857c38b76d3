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
from core.runs.approvals import approval_of, checked_answer
from core.runs.batches import ReplayFilter
from core.runs.timeline import timeline

router = APIRouter(prefix="/workspaces/{workspace_id}/executions", tags=["executions"])
ERRORS = error_responses(401, 403, 404, 409, 422)

Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]
Operator = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.EDIT, "executions:write"))]


class OnRun:
    """What a route acting on one run holds: the run's id, the caller (executions:write), the request's
    session, the servers and the auditor."""

    def __init__(
        self,
        execution_id: str,
        access: Operator,
        session: SessionDep,
        resources: ResourcesDep,
        auditor: AuditorDep,
    ) -> None:
        self.execution_id, self.access, self.session = execution_id, access, session
        self.resources, self.auditor = resources, auditor

    async def checked(self) -> str:
        """The run's id, once the run is known to be the workspace's (404 otherwise)."""
        return (await store.get(self.session, self.access.workspace.id, self.execution_id)).id

    async def audited(self, action: str, execution_id: str, metadata: Any = None) -> None:
        details = {"metadata": metadata} if metadata is not None else {}
        await self.auditor.in_workspace(self.access, action, "execution", execution_id, **details)

    async def answer(self, execution_id: str | None = None) -> ExecutionOut:
        """The run (or the run a replay started, once committed so its row is read) as the API shows it."""
        if execution_id is not None:
            await self.session.commit()
        row = await store.get(self.session, self.access.workspace.id, execution_id or self.execution_id)
        return await one_execution_out(self.session, row, self.resources)


Acting = Annotated[OnRun, Depends()]
ACCEPTED: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": ExecutionOut,
    "responses": ERRORS,
}


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
    answer = await (await resources.replays()).replay_in_bulk(
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
        await auditor.in_workspace(
            access,
            f"executions.{action}_batch",
            "batch",
            answer["batchId"],
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
    progress = await (await resources.replays()).batch(access.workspace.id, batch_id)
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
    return await one_execution_detail(session, execution, resources, access.workspace.id)


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


@router.post("/{execution_id}/cancel", **ACCEPTED)
async def cancel(run: Acting) -> ExecutionOut:
    """Ask the run to stop; it ends as CANCELLED once its current step lets go, or, when it has not stopped
    CANCEL_GRACE_SECONDS later, is terminated in Temporal and ends CANCELLED all the same."""
    execution_id = await run.checked()
    await (await run.resources.control()).cancel(execution_id)
    await run.audited("execution.cancelled", execution_id)
    return await run.answer()


@router.post("/{execution_id}/pause", **ACCEPTED)
async def pause(body: PauseBody, run: Acting) -> ExecutionOut:
    """Parks the run before its next step (steps under way finish first); its `live` shows the step it
    waits before (`waiting` for `pause`) until `POST .../unpause`. It survives restarts while paused."""
    execution_id = await run.checked()
    await (await run.resources.control()).pause(execution_id, run.access.principal.user.id, body.reason)
    await run.audited("execution.paused", execution_id, {"reason": body.reason})
    return await run.answer()


@router.post("/{execution_id}/unpause", **ACCEPTED)
async def unpause(body: UnpauseBody, run: Acting) -> ExecutionOut:
    """Lets a paused run go on. A step that failed under `onError: "pause"` is tried again, in the same
    run (with `stepInput` instead of its own input when given), or with `giveUp` fails the run. A pause
    asked for and not yet reached is withdrawn. 409 when there is nothing to unpause, naming what the run
    waits for instead ("the run is not paused: it waits for approval of step `approve`")."""
    execution_id = await run.checked()
    await (await run.resources.control()).unpause(
        execution_id,
        run.access.principal.user.id,
        step_input=body.step_input,
        give_up=body.give_up,
        latest_version=body.latest_version,
    )
    metadata = {"giveUp": body.give_up, "stepInput": body.step_input is not None}
    await run.audited("execution.unpaused", execution_id, metadata)
    return await run.answer()


@router.post("/{execution_id}/retry", **ACCEPTED)
async def retry(run: Acting) -> ExecutionOut:
    """Run again from the start with the same trigger data (counts towards `maxRetries`)."""
    execution_id = await run.checked()
    started = await (await run.resources.replays()).retry(execution_id)
    await run.audited("execution.retried", started.execution_id, {"retryOf": execution_id})
    return await run.answer(started.execution_id)


@router.post("/{execution_id}/resume", **ACCEPTED)
async def resume(body: ResumeBody, run: Acting) -> ExecutionOut:
    """A new run that reuses what succeeded and starts at the step that failed, or at `fromStep`; with
    `triggerData` and `stepOutputs`, on an edited trigger and edited outputs of the steps before it."""
    execution_id = await run.checked()
    edits: dict[str, Any] = {}
    if "trigger_data" in body.model_fields_set:
        edits["trigger_data"] = body.trigger_data
    started = await (await run.resources.replays()).resume(
        execution_id,
        latest_version=body.latest_version,
        from_step=body.from_step,
        step_outputs=body.step_outputs,
        **edits,
    )
    edited = sorted({"triggerData"} & set(body.model_dump(by_alias=True, exclude_unset=True)))
    metadata = {
        "resumedFrom": execution_id,
        "latestVersion": body.latest_version,
        "fromStep": body.from_step,
        "edited": edited + sorted(body.step_outputs or {}),
    }
    await run.audited("execution.resumed", started.execution_id, metadata)
    return await run.answer(started.execution_id)


@router.post("/{execution_id}/steps/{step_id}/decision", responses=ERRORS)
async def decide(
    step_id: str,
    body: DecisionBody,
    run: Acting,
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
    execution_id = await run.checked()
    approval = await approval_of(await run.session.connection(), execution_id, step_id)
    approved = checked_answer(approval, body.approved, body.choice, body.values)
    # The update waits for the run's worker (seconds when it must replay a run evicted from its cache):
    # end the read's transaction first, so the request does not hold a pooled connection meanwhile (50
    # decisions at once exhausted the pool: 30 s waits and 500s, ~4 decisions/s).
    await run.session.commit()
    by = run.access.principal.user.id
    decision = Decision(
        step_id,
        approved,
        by=by,
        comment=body.comment,
        arguments=body.arguments,
        choice=body.choice,
        values=body.values,
    )
    answer = await (await run.resources.control()).decide(execution_id, decision, idempotency_key)
    await run.audited("execution.decided", execution_id, {"stepId": step_id, "approved": approved})
    return {**answer, "by": by}
