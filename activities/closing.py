"""Settling a run Temporal closed behind Baton's back: its row (and the rows of its steps under way) get
its true end, with everything a run's own end brings (its concurrency slot freed, its counters, its log
line, its live event, its failure alert); a cancelled run that did not stop in time is terminated first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.records import RecordActivities
from core.contract import SETTLE_RUN_ACTIVITY, ExecutionFinished, Settled, SettleRequest, run_workflow_id
from core.runs.closing import close_open_steps, still_open, true_end
from core.runs.rows import ExecutionRows


class RunClosing:
    def __init__(self, client: Client, engine: AsyncEngine, records: RecordActivities) -> None:
        self._client = client
        self._engine = engine
        self._records = records
        self._rows = ExecutionRows(engine)

    @activity.defn(name=SETTLE_RUN_ACTIVITY)
    async def settle_run(self, request: SettleRequest) -> Settled:
        """Idempotent: a run whose row has ended keeps it (the row's end is written once)."""
        end = await true_end(self._client, request.execution_id)
        if end is None and request.terminate is not None:
            try:
                await self._client.get_workflow_handle(run_workflow_id(request.execution_id)).terminate(
                    reason=request.terminate
                )
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:  # not found: it ended meanwhile
                    raise
            end = await true_end(self._client, request.execution_id)
        if end is None:
            return Settled()
        if not await still_open(self._engine, [request.execution_id]):
            return Settled()  # the run wrote its own end (or the row is gone): its log says it once
        workflow_id = await self._rows.workflow_of(request.execution_id)
        if workflow_id is None:
            return Settled()
        await close_open_steps(self._engine, request.execution_id, end)
        await self._records.execution_finished(
            ExecutionFinished(
                request.execution_id,
                workflow_id,
                end.status,
                datetime.now(UTC).isoformat(),
                error=end.error,
                # its place in a concurrency queue, if it had one, goes to the next run
                concurrency=True,
            )
        )
        return Settled(end.status, end.error)

    def activities(self) -> list[Any]:
        return [self.settle_run]
