"""Reading executions and their steps for the API, always within one workspace."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from core.errors import NotFound
from core.models import ExecutionStatus, StepExecution, Workflow, WorkflowExecution
from core.paging import newest_first


def list_query(
    workspace_id: str,
    *,
    limit: int,
    cursor: tuple[datetime, str] | None = None,
    workflow_id: str | None = None,
    status: ExecutionStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SelectOfScalar[WorkflowExecution]:
    """Newest first, in the order of the seed's `(workflow_id, created_at DESC)` index (bench/suite.py
    EXPLAINs this very statement)."""
    query = (
        select(WorkflowExecution)
        .join(Workflow, col(Workflow.id) == col(WorkflowExecution.workflow_id))
        .where(Workflow.workspace_id == workspace_id)
    )
    if workflow_id is not None:
        query = query.where(WorkflowExecution.workflow_id == workflow_id)
    if status is not None:
        query = query.where(WorkflowExecution.status == status)
    if since is not None:
        query = query.where(col(WorkflowExecution.created_at) >= since)
    if until is not None:
        query = query.where(col(WorkflowExecution.created_at) < until)
    return newest_first(query, WorkflowExecution.created_at, WorkflowExecution.id, cursor, limit)


async def list_page(
    session: AsyncSession,
    workspace_id: str,
    *,
    limit: int,
    cursor: tuple[datetime, str] | None = None,
    workflow_id: str | None = None,
    status: ExecutionStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[WorkflowExecution]:
    query = list_query(
        workspace_id,
        limit=limit,
        cursor=cursor,
        workflow_id=workflow_id,
        status=status,
        since=since,
        until=until,
    )
    return list((await session.exec(query)).all())


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
        .order_by(col(StepExecution.started_at), col(StepExecution.created_at))
    )
    return list((await session.exec(query)).all())
