"""Bulk retry and resume (`POST .../executions/retry` and `.../resume` with a filter): the runs that match
are chosen when the batch is asked (at most `limit`, oldest first), then replayed by a Temporal workflow
`batch-{batchId}` (worker.batches.BatonBatch) a few at a time, so a batch outlives a worker or API restart
and its progress can be read while it goes (`GET .../executions/batches/{batchId}`). Each replay starts
under an id derived from the batch and the run it replays: a slice retried after a crash starts nothing
twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from core.contract import BATCH_WORKFLOW, PROGRESS_QUERY, BatchRequest, batch_workflow_id
from core.errors import NotFound
from core.models.enums import ExecutionStatus
from core.models.tables import WORKFLOW_EXECUTIONS, WORKFLOWS

BATCH_NAMESPACE = uuid.UUID("5b0e7c2a-9d41-4f3e-8a6b-1c2d3e4f5a6b")
REPLAYABLE = (ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value, ExecutionStatus.CANCELLED.value)
MAX_BATCH = 1000


def replay_execution_id(batch_id: str, execution_id: str) -> str:
    """The id of the run a batch starts for one of its runs (the same on every try)."""
    return str(uuid.uuid5(BATCH_NAMESPACE, f"{batch_id}\n{execution_id}"))


@dataclass(frozen=True)
class ReplayFilter:
    workflow_id: str | None = None
    statuses: tuple[str, ...] = (ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value)
    since: datetime | None = None
    until: datetime | None = None
    error_contains: str | None = None


def _matching(workspace_id: str, chosen: ReplayFilter) -> Any:
    executions = WORKFLOW_EXECUTIONS
    query = (
        select(executions.c.id)
        .join(WORKFLOWS, WORKFLOWS.c.id == executions.c.workflow_id)
        .where(WORKFLOWS.c.workspace_id == workspace_id)
        .where(executions.c.status.in_(chosen.statuses))
    )
    if chosen.workflow_id is not None:
        query = query.where(executions.c.workflow_id == chosen.workflow_id)
    if chosen.since is not None:
        query = query.where(executions.c.created_at >= chosen.since)
    if chosen.until is not None:
        query = query.where(executions.c.created_at < chosen.until)
    if chosen.error_contains:
        query = query.where(executions.c.error.ilike(f"%{_escaped(chosen.error_contains)}%", escape="\\"))
    return query


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def count_matching(connection: AsyncConnection, workspace_id: str, chosen: ReplayFilter) -> int:
    query = select(func.count()).select_from(_matching(workspace_id, chosen).subquery())
    return int((await connection.execute(query)).scalar_one())


async def matching_ids(
    connection: AsyncConnection, workspace_id: str, chosen: ReplayFilter, limit: int
) -> list[str]:
    """The ids of the runs that match, oldest first, at most `limit`."""
    query = _matching(workspace_id, chosen).order_by(
        WORKFLOW_EXECUTIONS.c.created_at, WORKFLOW_EXECUTIONS.c.id
    )
    return [row.id for row in await connection.execute(query.limit(limit))]


async def start_batch(client: Client, task_queue: str, request: BatchRequest) -> None:
    await client.start_workflow(
        BATCH_WORKFLOW,
        request,
        id=batch_workflow_id(request.batch_id),
        task_queue=task_queue,
        static_summary=f"bulk {request.action} of {len(request.execution_ids)} runs",
    )


async def batch_progress(client: Client, workspace_id: str, batch_id: str) -> dict[str, Any]:
    """A batch's progress (its final figures once it has ended); NotFound for another workspace's."""
    handle = client.get_workflow_handle(batch_workflow_id(batch_id))
    try:
        described = await handle.describe()
        if described.status == WorkflowExecutionStatus.RUNNING:
            progress: dict[str, Any] = await handle.query(PROGRESS_QUERY)
        else:
            progress = await handle.result()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no batch {batch_id}") from exc
        raise
    except WorkflowFailureError as exc:
        raise NotFound(f"batch {batch_id} did not end well: {exc.cause}") from exc
    if progress.get("workspaceId") != workspace_id:
        raise NotFound(f"no batch {batch_id}")
    return progress
