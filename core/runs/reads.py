"""Reading executions and their steps for the API, always within one workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import exists
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from core.errors import NotFound
from core.models import ExecutionStatus, StepExecution, Workflow, WorkflowExecution
from core.models.enums import OPEN_STATUSES
from core.models.tables import CONCURRENCY_SLOTS as SLOTS
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.paging import newest_first
from core.published import definition_of, version_to_run
from core.runs import concurrency, live


class RunFilters(TypedDict, total=False):
    """What a list of runs may be narrowed to (each None or left out: any); `cursor` is where a page ends."""

    cursor: tuple[datetime, str] | None
    workflow_id: str | None
    status: ExecutionStatus | None
    since: datetime | None
    until: datetime | None
    state: str | None


def list_query(
    workspace_id: str, *, limit: int, **filters: Unpack[RunFilters]
) -> SelectOfScalar[WorkflowExecution]:
    """Newest first, in the order of the seed's `(workflow_id, created_at DESC)` index (bench/suite.py
    EXPLAINs this very statement)."""
    query = (
        select(WorkflowExecution)
        .join(Workflow, col(Workflow.id) == col(WorkflowExecution.workflow_id))
        .where(Workflow.workspace_id == workspace_id)
    )
    if (workflow_id := filters.get("workflow_id")) is not None:
        query = query.where(WorkflowExecution.workflow_id == workflow_id)
    if (status := filters.get("status")) is not None:
        query = query.where(WorkflowExecution.status == status)
    if (since := filters.get("since")) is not None:
        query = query.where(col(WorkflowExecution.created_at) >= since)
    if (until := filters.get("until")) is not None:
        query = query.where(col(WorkflowExecution.created_at) < until)
    if (state := filters.get("state")) is not None:
        query = query.where(live_state_is(state))
    cursor = filters.get("cursor")
    return newest_first(query, WorkflowExecution.created_at, WorkflowExecution.id, cursor, limit)


async def list_page(
    session: AsyncSession, workspace_id: str, *, limit: int, **filters: Unpack[RunFilters]
) -> list[WorkflowExecution]:
    return list((await session.exec(list_query(workspace_id, limit=limit, **filters))).all())


async def get(session: AsyncSession, workspace_id: str, execution_id: str) -> WorkflowExecution:
    query = (
        select(WorkflowExecution)
        .join(Workflow, col(Workflow.id) == col(WorkflowExecution.workflow_id))
        .where(WorkflowExecution.id == execution_id, Workflow.workspace_id == workspace_id)
    )
    execution = (await session.exec(query)).first()
    if execution is None:
        raise NotFound("execution not found")
    return execution


async def steps(session: AsyncSession, execution_id: str) -> list[StepExecution]:
    query = (
        select(StepExecution)
        .where(StepExecution.execution_id == execution_id)
        # run order: steps begun in one workflow task share started_at; sequence says which began first
        .order_by(col(StepExecution.started_at), col(StepExecution.sequence), col(StepExecution.created_at))
    )
    return list((await session.exec(query)).all())


def live_state_is(state: str) -> Any:
    """Runs whose `live.state` is `state` (core.runs.live): a step of theirs in that kind, and none more
    telling; `running` and `pending` are open runs with no step waiting, retrying or rate-limited."""
    is_open = col(WorkflowExecution.status).in_(OPEN_STATUSES)

    def has(kind: str) -> Any:
        return exists(
            core_select(STEPS.c.id).where(
                STEPS.c.execution_id == WorkflowExecution.id,
                STEPS.c.state.is_not(None),
                STEPS.c.state["kind"].astext == kind,
            )
        )

    pending = col(WorkflowExecution.status) == ExecutionStatus.PENDING
    queued = exists(core_select(SLOTS.c.execution_id).where(SLOTS.c.execution_id == WorkflowExecution.id))
    if state == live.PENDING:
        return pending & ~queued
    telling = live.KINDS[: live.KINDS.index(state)] if state in live.KINDS else ()
    condition = is_open
    for kind in telling:
        condition = condition & ~has(kind)
    if state == live.RUNNING:
        return condition & (WorkflowExecution.status == ExecutionStatus.RUNNING)
    if state == live.WAITING:  # parked on a step, or waiting for a concurrency slot
        return (condition & has(state)) | (pending & queued)
    return condition & has(state)


async def live_of(session: AsyncSession, executions: list[WorkflowExecution]) -> dict[str, Any]:
    """Each open execution's `live` (core.runs.live), in one query for the page."""
    open_ids = [e.id for e in executions if e.status in OPEN_STATUSES]
    by_execution: dict[str, list[dict[str, Any]]] = {execution_id: [] for execution_id in open_ids}
    if open_ids:
        rows = await session.exec(  # type: ignore[call-overload]
            core_select(STEPS.c.execution_id, STEPS.c.step_id, STEPS.c.state, STEPS.c.started_at)
            .where(STEPS.c.execution_id.in_(open_ids), STEPS.c.state.is_not(None))
            .order_by(STEPS.c.started_at)
        )
        for row in rows:
            by_execution[row.execution_id].append(dict(row._mapping))
    slots = await waiting_for_slots(
        session, [e.id for e in executions if e.status == ExecutionStatus.PENDING]
    )
    return {
        e.id: live.run_live(
            str(e.status.value if hasattr(e.status, "value") else e.status),
            by_execution.get(e.id, []),
            slots.get(e.id),
        )
        for e in executions
    }


async def waiting_for_slots(session: AsyncSession, execution_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The place of each of these runs that waits for a concurrency slot (`live.slot`)."""
    if not execution_ids:
        return {}
    connection = await session.connection()
    found = await concurrency.places(connection, execution_ids)
    return {
        execution_id: {"key": p.key, "limit": p.limit, "place": p.place}
        for execution_id, p in found.items()
        if not p.holds
    }


async def definition_run(session: AsyncSession, execution: WorkflowExecution) -> dict[str, Any]:
    """The definition the execution ran: its version's, or the draft's for a test run."""
    context = execution.context or {}
    connection = await session.connection()
    if not context.get("test"):
        target = await version_to_run(connection, execution.workflow_id, context.get("version"))
        if target is not None:
            return target.definition
    workflow = await session.get(Workflow, execution.workflow_id)
    return definition_of(workflow) if workflow is not None else {}
