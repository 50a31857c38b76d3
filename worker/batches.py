"""`BatonBatch`: a bulk retry or resume (core.runs.batches), its runs replayed ten at a time by an
activity, its progress answered by a query while it goes and returned when it ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.batches import BatchActivities
from core.contract import BATCH_WORKFLOW, PROGRESS_QUERY, BatchRequest, ReplayChunk

CHUNK = 10
SHOWN = 200  # outcomes kept in the progress (the counts cover them all)


@workflow.defn(name=BATCH_WORKFLOW, sandboxed=False)
class BatonBatch:
    def __init__(self) -> None:
        self._progress: dict[str, Any] = {}

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> dict[str, Any]:
        return self._progress

    @workflow.run
    async def run(self, request: BatchRequest) -> dict[str, Any]:
        ids = request.execution_ids
        self._progress = {
            "batchId": request.batch_id,
            "workspaceId": request.workspace_id,
            "action": request.action,
            "status": "RUNNING",
            "total": len(ids),
            "done": 0,
            "started": 0,
            "skipped": 0,
            "outcomes": [],
        }
        for offset in range(0, len(ids), CHUNK):
            chunk = ids[offset : offset + CHUNK]
            last = offset + len(chunk)
            answer = await workflow.execute_activity_method(
                BatchActivities.replay_chunk,
                ReplayChunk(request.batch_id, request.action, chunk, request.latest_version),
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary=f"{request.action} runs {offset + 1} to {last} of {len(ids)}",
            )
            for outcome in answer.outcomes:
                self._progress["done"] += 1
                self._progress["started" if outcome.started else "skipped"] += 1
                if len(self._progress["outcomes"]) < SHOWN:
                    self._progress["outcomes"].append(
                        {
                            "executionId": outcome.execution_id,
                            "started": outcome.started,
                            "skipped": outcome.skipped,
                        }
                    )
            workflow.set_current_details(f"{self._progress['done']} of {len(ids)} done")
        self._progress["status"] = "COMPLETED"
        return self._progress
