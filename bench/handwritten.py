"""Hand-written Temporal workflows doing what the benchmark's 3-step definition does, for comparison: the
call as a local activity, as the interpreter makes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from core.contract import (
        EXECUTION_FINISHED_ACTIVITY,
        EXECUTION_STARTED_ACTIVITY,
        ActionRequest,
        ExecutionFinished,
        ExecutionStarted,
        RunInput,
        RunResult,
        StepRecord,
    )


@workflow.defn(name="HandWrittenRecorded")
class HandWrittenRecorded:
    """http.request, a condition, a set, with the same execution records Baton keeps (written by the
    same local activities the interpreter uses)."""

    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        started = workflow.now().isoformat()
        await workflow.execute_local_activity(
            EXECUTION_STARTED_ACTIVITY,
            ExecutionStarted(run.execution_id, run.workflow_id, run.trigger_data, started),
            start_to_close_timeout=timedelta(seconds=30),
        )
        response: dict[str, Any] = await workflow.execute_local_activity(
            "http.request",
            ActionRequest(
                input={"url": run.trigger_data["url"]},
                execution_id=run.execution_id,
                step_id="call",
                step_key="call",
                record=True,
                started_at=started,
            ),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
            result_type=dict,
        )
        gold = response["body"].get("tier") == "gold"
        result = {"tier": "gold" if gold else "basic"}
        now = workflow.now().isoformat()
        # The same StepExecution rows Baton keeps: one per step, the condition and the set included.
        chosen = "gold" if gold else "basic"
        rows = [
            StepRecord("vip", "vip", "condition", "SUCCESS", None, {"result": gold}, None, now, now),
            StepRecord(chosen, chosen, "set", "SUCCESS", None, result, None, now, now),
        ]
        await workflow.execute_local_activity(
            EXECUTION_FINISHED_ACTIVITY,
            ExecutionFinished(run.execution_id, run.workflow_id, "SUCCESS", now, result, None, rows),
            start_to_close_timeout=timedelta(seconds=30),
        )
        return RunResult(status="SUCCESS", result=result)


@workflow.defn(name="HandWrittenBare")
class HandWrittenBare:
    """The same logic with no records at all (a floor, not a fair comparison)."""

    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        response: dict[str, Any] = await workflow.execute_local_activity(
            "http.request",
            ActionRequest(input={"url": run.trigger_data["url"]}),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
            result_type=dict,
        )
        result = {"tier": "gold" if response["body"].get("tier") == "gold" else "basic"}
        return RunResult(status="SUCCESS", result=result)
