"""`BatonCancel`: one per cancelled run (`cancel-{executionId}`), started by the cancel use case beside the
cancellation request. A run that heeds the request ends CANCELLED by itself; one that cannot (its workflow
task failing, so the request is never delivered) is terminated once `grace_seconds` have passed and
recorded CANCELLED. Being a workflow, the escalation outlives a restart of the API that asked for it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.closing import RunClosing
from core.contract import CANCEL_WORKFLOW, CancelRequest, Settled, SettleRequest


def escalation_reason(grace_seconds: float) -> str:
    return f"cancelled through Baton, and it had not stopped {grace_seconds:g} s after the request"


@workflow.defn(name=CANCEL_WORKFLOW, sandboxed=False)
class BatonCancel:
    @workflow.run
    async def run(self, request: CancelRequest) -> Settled:
        if request.grace_seconds > 0:
            await workflow.sleep(
                timedelta(seconds=request.grace_seconds), summary="the run's time to stop by itself"
            )
        return await workflow.execute_activity_method(
            RunClosing.settle_run,
            SettleRequest(request.execution_id, terminate=escalation_reason(request.grace_seconds)),
            start_to_close_timeout=timedelta(minutes=1),
            summary="terminate the run if it is still going, and record its end",
        )
