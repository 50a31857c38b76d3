"""Runs Temporal closed behind Baton's back (terminated, timed out or reset from the Web UI or the CLI, or
terminated by a cancellation that was not heeded): finding them, and reading their true end.

A run's own code writes its final row before its Temporal workflow closes (core.runs.rows.finish through
activities.records), except when Temporal closes it without running that code: a termination (which a
reset is too: the reset run goes on) and a workflow timeout. Those are the only closed runs listed here, so
the listing stays as small as the number of such interventions, whatever the number of runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistoryEventFilterType
from temporalio.service import RPCError, RPCStatusCode

from core.contract import run_workflow_id
from core.models import ExecutionStatus
from core.models.enums import OPEN_STATUSES
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.models.tables import WORKFLOW_EXECUTIONS as EXECUTIONS

RUN_PREFIX = run_workflow_id("")
# Closed without the run's code running its end (so without its row being written).
CLOSED_BEHIND_QUERY = "ExecutionStatus IN ('Terminated', 'TimedOut')"


@dataclass(frozen=True)
class TrueEnd:
    """How a run ended in Temporal, as Baton records it."""

    status: str
    error: str | None


async def true_end(client: Client, execution_id: str) -> TrueEnd | None:
    """The run's end in Temporal; None while it goes on (its latest Temporal run is running: after a reset
    or a continue-as-new the run lives on in a new Temporal run of the same workflow id)."""
    try:
        description = await client.get_workflow_handle(run_workflow_id(execution_id)).describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return TrueEnd(ExecutionStatus.CANCELLED.value, "Temporal has no run for this execution")
    status = description.status
    if status in (None, WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return None
    if status == WorkflowExecutionStatus.COMPLETED:
        return TrueEnd(ExecutionStatus.SUCCESS.value, None)
    if status == WorkflowExecutionStatus.CANCELED:
        return TrueEnd(ExecutionStatus.CANCELLED.value, "cancelled")
    if status == WorkflowExecutionStatus.TIMED_OUT:
        return TrueEnd(
            ExecutionStatus.TIMEOUT.value, "timed out in Temporal (its workflow execution or run timeout)"
        )
    closing = await close_event(client, execution_id, description.run_id)
    if status == WorkflowExecutionStatus.TERMINATED:
        reason = closing.workflow_execution_terminated_event_attributes.reason if closing else ""
        return TrueEnd(
            ExecutionStatus.CANCELLED.value, f"terminated in Temporal: {reason or 'no reason given'}"
        )
    message = "failed in Temporal"
    if closing is not None and closing.HasField("workflow_execution_failed_event_attributes"):
        failure = await client.data_converter.decode_failure(
            closing.workflow_execution_failed_event_attributes.failure
        )
        message = f"failed in Temporal: {failure}"
    return TrueEnd(ExecutionStatus.FAILED.value, message)


async def close_event(client: Client, execution_id: str, run_id: str | None) -> HistoryEvent | None:
    """The event that closed the Temporal run (its reason, its failure), or None."""
    handle = client.get_workflow_handle(run_workflow_id(execution_id), run_id=run_id)
    async for event in handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    ):
        return event
    return None


def visibility_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def closed_behind(client: Client, since: datetime) -> list[str]:
    """Execution ids of the runs Temporal terminated or timed out since `since` (a reset's old run is one:
    true_end finds its new run going on)."""
    query = f"{CLOSED_BEHIND_QUERY} AND CloseTime >= '{visibility_time(since)}'"
    found: list[str] = []
    async for execution in client.list_workflows(query):
        if execution.id.startswith(RUN_PREFIX):
            found.append(execution.id[len(RUN_PREFIX) :])
    return found


async def still_open(engine: AsyncEngine, execution_ids: Sequence[str]) -> list[str]:
    """Those of `execution_ids` whose row says the run is PENDING or RUNNING."""
    if not execution_ids:
        return []
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(EXECUTIONS.c.id).where(
                EXECUTIONS.c.id.in_(list(execution_ids)), EXECUTIONS.c.status.in_(OPEN_STATUSES)
            )
        )
        return [row.id for row in rows]


async def close_open_steps(engine: AsyncEngine, execution_id: str, end: TrueEnd) -> None:
    """A run closed behind Baton's back left the rows of its steps under way RUNNING: they end with it
    (only while the run's own row is open, so a run that wrote its end keeps its steps as they were)."""
    step_status = (
        ExecutionStatus.TIMEOUT.value
        if end.status == ExecutionStatus.TIMEOUT.value
        else ExecutionStatus.CANCELLED.value
    )
    run_open = exists().where(and_(EXECUTIONS.c.id == execution_id, EXECUTIONS.c.status.in_(OPEN_STATUSES)))
    async with engine.begin() as connection:
        await connection.execute(
            update(STEPS)
            .where(STEPS.c.execution_id == execution_id, STEPS.c.status.in_(OPEN_STATUSES), run_open)
            .values(status=step_status, error=end.error, completed_at=datetime.now(UTC), state=None)
        )
