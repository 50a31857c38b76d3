"""Acting on a run under way: an approval decision, pause and unpause, cancel, and the sync webhook's wait
for its reply. Each is a Temporal update, signal or cancellation of the run's workflow; the execution row
says first whether the run is still open (409 when it is not).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from core.contract import (
    AWAIT_RESPONSE_UPDATE,
    DECIDE_UPDATE,
    DELIVER_UPDATE,
    PAUSE_SIGNAL,
    UNPAUSE_SIGNAL,
    Decision,
    PauseRequest,
    RunResult,
    Unpause,
    run_workflow_id,
)
from core.errors import Conflict, ServiceUnavailable
from core.models.enums import OPEN_STATUSES
from core.runs.handles import cancel_run
from core.runs.starts import RunUseCase
from core.runs.unpausing import why_not_paused
from core.runs.waits import Delivery


@dataclass(frozen=True)
class SyncReply:
    kind: str  # respond | finished | failed | pending
    response: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None


class RunControl(RunUseCase):
    async def decide(
        self, execution_id: str, decision: Decision, idempotency_key: str | None = None
    ) -> dict[str, object]:
        """Hands an approval decision to the run and answers its outcome. Conflict (409) when the run
        refuses it (not waiting, not an approver, already decided) or is not running; ServiceUnavailable
        (503) when no worker takes it within DECISION_TIMEOUT_SECONDS. The same `idempotency_key` is the
        same decision: Temporal keeps one outcome per update id and run."""
        timeout = self._settings.decision_timeout_seconds  # a busy worker, a run replayed from its history
        update_id = f"decision:{decision.step_id}:{idempotency_key}" if idempotency_key else None
        try:
            try:
                answer: dict[str, object] = await self.handle(execution_id).execute_update(
                    DELIVER_UPDATE,
                    Delivery(decision.step_id, decision=decision),
                    id=update_id,
                    result_type=dict,
                    rpc_timeout=timedelta(seconds=timeout),
                )
            except WorkflowUpdateFailedError as exc:
                if "expected but not found" not in str(exc.cause):
                    raise
                # a worker of the version before `deliver` (during an upgrade) takes decisions as `decide`
                answer = await self.handle(execution_id).execute_update(
                    DECIDE_UPDATE,
                    decision,
                    id=update_id,
                    result_type=dict,
                    rpc_timeout=timedelta(seconds=timeout),
                )
        except WorkflowUpdateFailedError as exc:
            raise Conflict(
                str(exc.cause) if exc.cause else "the decision was refused", path="stepId"
            ) from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise ServiceUnavailable(
                f"no worker took the decision within {timeout:g} s (is `baton worker` running?); "
                "Temporal may still hand it to the run when a worker comes: send it again with the same "
                "Idempotency-Key to get its outcome (without one, a step already decided answers 409)"
            ) from exc
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise Conflict(
                    f"execution {execution_id} is not running; it cannot take decisions ({exc.message})"
                ) from exc
            raise
        return answer

    def handle(self, execution_id: str) -> WorkflowHandle[Any, RunResult]:
        return self._client.get_workflow_handle(run_workflow_id(execution_id), result_type=RunResult)

    async def reply(self, execution_id: str, timeout: float, *, early: bool = True) -> SyncReply:
        """What a sync webhook answers: the `respond` step's reply as soon as the run gives one, else the
        run's result when it ends; `pending` once `timeout` passes (the run carries on).

        `early=False` (no respond step before the last one: see `responds_before_the_end`) only waits for
        the result, which carries the reply: no update round trip through the worker."""
        handle = self.handle(execution_id)
        deadline = asyncio.get_running_loop().time() + timeout
        if early:
            try:
                response = await asyncio.wait_for(
                    handle.execute_update(AWAIT_RESPONSE_UPDATE, result_type=dict), timeout
                )
                return SyncReply("respond", response=response)
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                return SyncReply("pending")
            except (WorkflowUpdateFailedError, RPCError):
                pass  # the run ended without a `respond` step: answer with its result
        try:
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.1)
            result = await asyncio.wait_for(handle.result(), remaining)
        except TimeoutError:
            return SyncReply("pending")
        except WorkflowFailureError as exc:
            return SyncReply("failed", error=str(exc.cause) if exc.cause else str(exc))
        if result.response is not None:
            return SyncReply("respond", response=result.response)
        return SyncReply("finished", result=result.result)

    async def pause(self, execution_id: str, by: str | None, reason: str | None = None) -> None:
        """Asks the run to park before its next step (the steps under way finish first): `live` then shows
        the step it waits before, `{"kind": "waiting", "for": "pause"}`. 409 when it has ended."""
        execution = await self.rows.get(execution_id)
        await self._signal_open(execution, PAUSE_SIGNAL, PauseRequest(by, reason), "paused")

    async def unpause(
        self,
        execution_id: str,
        by: str | None,
        *,
        step_input: Any = None,
        give_up: bool = False,
        latest_version: bool = False,
    ) -> None:
        """Lets a paused run go on; a step parked by onError "pause" is tried again (with `step_input`
        instead of its rendered input when given; with `latest_version`, from that step on the workflow's
        latest published version, in the same execution) or, with `give_up`, fails as "fail" would. 409
        naming what the run waits for when it is neither paused nor parked (core.runs.unpausing)."""
        execution = await self.rows.get(execution_id)
        if latest_version:
            await self._starts.published_version(execution.workflow_id)  # 404 when there is none
        if execution.status in OPEN_STATUSES and (
            reason := await why_not_paused(self._engine, self.handle(execution_id), execution_id)
        ):
            raise Conflict(reason)
        fix = Unpause(by, step_input, give_up, latest_version)
        await self._signal_open(execution, UNPAUSE_SIGNAL, fix, "unpaused")

    async def _signal_open(self, execution: Any, signal: str, argument: Any, what: str) -> None:
        if execution.status not in OPEN_STATUSES:
            raise Conflict(
                f"execution {execution.id} is {execution.status}; only a running one can be {what}"
            )
        try:
            await self.handle(execution.id).signal(signal, argument)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Conflict(f"execution {execution.id} is not running ({exc.message})") from exc
            raise

    async def cancel(self, execution_id: str) -> None:
        execution = await self.rows.get(execution_id)
        if execution.status not in OPEN_STATUSES:
            raise Conflict(
                f"execution {execution_id} is {execution.status}; only running executions can be cancelled"
            )
        await cancel_run(
            self._client,
            execution_id,
            task_queue=self._settings.temporal_task_queue,
            grace_seconds=self._settings.cancel_grace_seconds,
        )
