"""Replaying runs: a retry (the same version and trigger data, counted against `maxRetries`), a resume (the
outputs of the steps that succeeded reused, from the failed step or a chosen one), and both in bulk (a
BatonBatch over the runs a filter matches, core.runs.batches). Each replay is a new run started through
core.runs.starts; the replayed run is left as it ended.
"""

from __future__ import annotations

import uuid
from typing import Any

from core.contract import BatchRequest, step_ids_in_order
from core.errors import Conflict, InvalidInput, LimitExceeded
from core.models import ExecutionStatus
from core.runs.batches import ReplayFilter, batch_progress, count_matching, matching_ids, start_batch
from core.runs.starts import RunUseCase, StartedRun, StartRequest

# `resume(trigger_data=...)` left out: the failed run's trigger data
UNCHANGED: Any = object()
RETRYABLE = {ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value, ExecutionStatus.CANCELLED.value}


class RunReplays(RunUseCase):
    async def retry(self, execution_id: str, *, new_execution_id: str | None = None) -> StartedRun:
        """A new run of the same version and trigger data; `retryCount` counts up to `maxRetries`
        (`new_execution_id`: a repeatable retry, as a bulk retry's)."""
        execution = await self.rows.get(execution_id)
        self._require_retryable(execution)
        if execution.retry_count >= execution.max_retries:
            raise LimitExceeded(
                f"execution {execution_id} was already retried {execution.retry_count} times "
                f"(maxRetries is {execution.max_retries})"
            )
        target = await self._starts.published_version(
            execution.workflow_id, (execution.context or {}).get("version")
        )
        return await self._starts.start(
            StartRequest(
                target,
                execution.trigger_data,
                trigger_type=(execution.context or {}).get("triggerType"),
                retry_count=execution.retry_count + 1,
                execution_id=new_execution_id,
                idempotent=new_execution_id is not None,
            )
        )

    async def resume(
        self,
        execution_id: str,
        *,
        latest_version: bool = False,
        from_step: str | None = None,
        trigger_data: Any = UNCHANGED,
        step_outputs: dict[str, Any] | None = None,
        new_execution_id: str | None = None,
    ) -> StartedRun:
        """A new run that reuses the outputs of the steps that succeeded and starts at the one that failed;
        or, with `from_step`, at that step (it and every step after it in the definition run again). The
        trigger data and the reused outputs of steps before it may be replaced (`trigger_data`,
        `step_outputs`: a fix for what an earlier step got wrong). `new_execution_id` makes a resume
        repeatable (a bulk resume retried starts nothing more)."""
        execution = await self.rows.get(execution_id)
        self._require_retryable(execution)
        version = None if latest_version else (execution.context or {}).get("version")
        target = await self._starts.published_version(execution.workflow_id, version)
        reused = await self.rows.succeeded_outputs(execution_id)
        order = step_ids_in_order(target.definition.get("steps", []))
        if from_step is not None:
            if from_step not in order:
                raise InvalidInput(
                    f"no step {from_step!r} in version {target.version} of the workflow", path="fromStep"
                )
            again = set(order[order.index(from_step) :])
            reused = {step: output for step, output in reused.items() if step not in again}
        for step, output in (step_outputs or {}).items():
            if step not in order:
                raise InvalidInput(
                    f"no step {step!r} in version {target.version}", path=f"stepOutputs.{step}"
                )
            if from_step is not None and step in again:
                raise InvalidInput(
                    f"step {step!r} runs again from {from_step!r}: its output cannot be given",
                    path=f"stepOutputs.{step}",
                )
            reused[step] = output
        return await self._starts.start(
            StartRequest(
                target,
                execution.trigger_data if trigger_data is UNCHANGED else trigger_data,
                trigger_type=(execution.context or {}).get("triggerType"),
                retry_count=execution.retry_count,
                reused_outputs=reused,
                resumed_from=execution_id,
                execution_id=new_execution_id,
                idempotent=new_execution_id is not None,
            )
        )

    async def replay_in_bulk(
        self,
        workspace_id: str,
        action: str,
        chosen: ReplayFilter,
        limit: int,
        *,
        latest_version: bool = False,
        dry_run: bool = False,
        requested_by: str | None = None,
    ) -> dict[str, Any]:
        """Retries or resumes the runs that match (core.runs.batches): with `dry_run`, how many match and
        which would be replayed; else the batch started, with its progress (nothing done yet)."""
        async with self._engine.connect() as connection:
            matched = await count_matching(connection, workspace_id, chosen)
            ids = await matching_ids(connection, workspace_id, chosen, limit)
        answer: dict[str, Any] = {"action": action, "matched": matched, "total": len(ids), "done": 0}
        if dry_run:
            return {**answer, "status": "DRY_RUN", "batchId": None, "executionIds": ids[:50]}
        batch_id = str(uuid.uuid4())
        request = BatchRequest(batch_id, workspace_id, action, ids, latest_version, requested_by)
        await start_batch(self._client, self._settings.temporal_task_queue, request)
        return {**answer, "status": "RUNNING", "batchId": batch_id, "started": 0, "skipped": 0}

    async def batch(self, workspace_id: str, batch_id: str) -> dict[str, Any]:
        return await batch_progress(self._client, workspace_id, batch_id)

    @staticmethod
    def _require_retryable(execution: Any) -> None:
        if execution.status not in RETRYABLE:
            raise Conflict(
                f"execution {execution.id} is {execution.status}; only failed, timed-out or cancelled "
                "executions can be retried or resumed"
            )
