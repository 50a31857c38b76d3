"""`BatonRun`: the one workflow type that interprets any workflow definition version.

Action steps are activities named after the action (`http.request`) with the step's name as summary; pure
steps (condition, switch, set, loop/parallel bookkeeping) run here, deterministically. Step rows are
buffered and written piggy-backed on the next action activity, before long waits, or at the end.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from core.contract import (
        AWAIT_RESPONSE_UPDATE,
        DECIDE_UPDATE,
        DELIVER_UPDATE,
        FIRST_WRITE_ENGINE,
        INTERPRETER_WORKFLOW,
        PAUSE_SIGNAL,
        RESPONSE_QUERY,
        SLOT_SIGNAL,
        STATE_QUERY,
        UNPAUSE_SIGNAL,
        Decision,
        ExecutionFinished,
        ExecutionStarted,
        LoopBatch,
        PauseRequest,
        RunInput,
        RunResult,
        SlotRequest,
        Unpause,
        VersionRequest,
        action_integrations,
        approval_steps,
        value_too_large,
    )
    from core.definition.steps import (
        LoopStep,
        Step,
        WorkflowDefinition,
    )
    from core.definition.triggers import Concurrency
    from core.definition.validation import iter_steps
    from core.models.enums import FINAL_STEP_STATUSES, TERMINAL_STATUSES, ExecutionStatus
    from core.run_failures import RunEnded, run_failure_message
    from core.runs.waits import ApprovalWait, Delivery, check_answer, check_approver, not_waiting
    from worker import steps as _handlers  # noqa: F401 (importing it registers the built-in handlers)
    from worker.event_waits import seal_resume_url, take_event, validate_event
    from worker.run_actions import ActionCalls
    from worker.run_scope import Scope, StepFailed, StopRun, SwitchToLatest
    from worker.run_state import BOUNDED_PAYLOADS_PATCH, RECORD_TIMEOUT, StepCall
    from worker.run_step import RunStep
    from worker.steps.context import HANDLERS, load_plugin_handlers
    from worker.steps.loops import run_batch


# How often a run waiting for a concurrency slot asks again without a wake-up (doubling up to the max).
SLOT_RECHECK_FIRST = timedelta(seconds=15)
SLOT_RECHECK_MAX = timedelta(minutes=5)


# Not sandboxed: Temporal's sandbox re-imports a workflow's module for every run, which cost this
# interpreter about 35% of its throughput at 50 concurrent runs (bench/engine.py). It runs no user code
# outside the Jinja sandbox of core.expressions, takes time and ids only from `workflow.*`, and the replay
# tests (tests/worker/test_replay.py) fail on any change that would break runs in flight.
@workflow.defn(name=INTERPRETER_WORKFLOW, sandboxed=False)
class BatonRun(ActionCalls):
    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        self._input = run
        started_at = run.started_at or workflow.now().isoformat()
        try:
            definition = WorkflowDefinition.model_validate(run.definition)
        except ValueError as exc:  # the API validates on save: this is a definition from elsewhere
            reason = f"the definition is not valid: {str(exc)[:2000]}"
            if run.record and run.resume_at == 0 and run.batch is None:
                await self._record(
                    RecordActivities.execution_started,
                    ExecutionStarted(run.execution_id, run.workflow_id, run.trigger_data, started_at),
                )
            await self._finish(ExecutionStatus.FAILED.value, reason)
            raise RunEnded(reason, type="InvalidDefinition", non_retryable=True) from None
        self._execution = {"id": run.execution_id, "workflowId": run.workflow_id, "startedAt": started_at}
        await seal_resume_url(self, run, self._execution)
        if run.batch is not None:
            return await self._run_batch(run.batch)
        self._last_output, self._response = run.carried_result, run.carried_response
        scope = Scope(
            steps={k: {"output": v} for k, v in run.carried_outputs.items()}, vars=dict(run.carried_vars)
        )
        self._queued = definition.concurrency is not None and run.record
        if self._queued and run.resume_at == 0:  # a run continued as new holds its slot already
            assert definition.concurrency is not None
            try:
                await self._take_slot(definition.concurrency, scope)
            except asyncio.CancelledError:
                self._status = ExecutionStatus.CANCELLED.value
                await self._finish(ExecutionStatus.CANCELLED.value, "cancelled while waiting for a slot")
                raise
        self._status = ExecutionStatus.RUNNING.value
        if run.record and run.resume_at == 0:
            start = ExecutionStarted(run.execution_id, run.workflow_id, run.trigger_data, started_at)
            if run.engine >= FIRST_WRITE_ENGINE:
                self._unstarted = start  # written by the run's first write of rows
            else:
                await self._record(RecordActivities.execution_started, start)
        error: str | None = None
        failed_step: str | None = None  # the label of the step whose failure ended the run
        try:
            body = self._run_top(definition.steps, scope)
            if run.timeout_seconds:
                await asyncio.wait_for(body, run.timeout_seconds)
            else:
                await body
            status = ExecutionStatus.SUCCESS.value
        except SwitchToLatest as switch:
            await self._continue_on_latest(switch)
            raise AssertionError("continue_as_new returned") from None  # it never does
        except StopRun as stop:
            status, error = (
                stop.status,
                (stop.message if stop.status == ExecutionStatus.FAILED.value else None),
            )
        except StepFailed as failure:
            status, error = ExecutionStatus.FAILED.value, failure.message
            failed_step = step_label(definition, failure.step_id)
        except TimeoutError:
            status, error = (
                ExecutionStatus.TIMEOUT.value,
                f"the run did not finish within {run.timeout_seconds:g}s",
            )
        except asyncio.CancelledError:
            self._status = ExecutionStatus.CANCELLED.value
            await self._finish(ExecutionStatus.CANCELLED.value, "cancelled")
            raise
        result = self._response["body"] if self._response is not None else self._last_output
        oversize = value_too_large(result, "the run's result", run.value_limit)
        if oversize is not None and self.patched(BOUNDED_PAYLOADS_PATCH):
            status, error, result = ExecutionStatus.FAILED.value, oversize, None
        self._status = status
        await self._finish(status, error, result)
        if status in (ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value):
            # What the Web UI shows as the run's result: the step and the author's message, no stack trace
            raise RunEnded(run_failure_message(failed_step, error or status), type=status, non_retryable=True)
        return RunResult(status=status, result=result, error=error, response=self._response)

    async def _finish(self, status: str, error: str | None, result: Any = None) -> None:
        assert self._input is not None
        if not self._input.record:
            return
        records, self._records = self._records, []
        await self._record(
            RecordActivities.execution_finished,
            ExecutionFinished(
                self._input.execution_id,
                self._input.workflow_id,
                status,
                workflow.now().isoformat(),
                result,
                error,
                records,
                action_integrations(self._input.definition.get("steps", [])),
                concurrency=self._queued,
                started=self._unstarted,
            ),
        )

    async def _continue_on_latest(self, switch: SwitchToLatest) -> None:
        """Continues the run as new on the workflow's latest published version: the same execution, the
        steps that succeeded reused, from the parked step on (unpause with latestVersion)."""
        assert self._input is not None
        await self._flush()
        published = await workflow.execute_local_activity_method(
            RecordActivities.published_version,
            VersionRequest(self._input.workflow_id),
            start_to_close_timeout=RECORD_TIMEOUT,
            summary="Baton records: the latest published version",
        )
        done = ExecutionStatus.SUCCESS.value
        reused = {
            step_id: output
            for step_id, output in switch.outputs.items()
            if self._statuses.get(step_id) == done and step_id != switch.step_id
        }
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            replace(
                self._input,
                definition=published.definition,
                version=published.version,
                workflow_name=published.name,
                reused_outputs={**self._input.reused_outputs, **reused},
                carried_outputs=reused,
                carried_vars=switch.variables,
                carried_result=self._last_output,
                carried_response=self._response,
                started_at=self._execution["startedAt"],
                resume_at=0,
                record=self._input.record,
            )
        )

    async def _take_slot(self, concurrency: Concurrency, scope: Scope) -> None:
        """Waits until the run holds one of its key's `limit` slots (core.runs.concurrency): its place is
        taken once, in arrival order; a release signals it, and it asks again every so often (from 15 s up
        to 5 min) in case a wake-up was lost. The run stays PENDING meanwhile."""
        assert self._input is not None
        key = ""
        if concurrency.key is not None:
            rendered = self._render(concurrency.key, scope, "concurrency key")
            key = "" if rendered is None else str(rendered)
        request = SlotRequest(self._input.execution_id, self._input.workflow_id, key, concurrency.limit)
        recheck = SLOT_RECHECK_FIRST
        self._status = ExecutionStatus.PENDING.value
        while True:
            self._slot_freed = False
            place = await workflow.execute_local_activity_method(
                RecordActivities.take_slot,
                request,
                start_to_close_timeout=RECORD_TIMEOUT,
                summary="Baton records: a place in the concurrency queue",
            )
            if place.holds:
                return
            shown = f" for key `{key}`" if key else ""
            self._show(f"waiting for a concurrency slot{shown}: place {place.place} (limit {request.limit})")
            try:
                await workflow.wait_condition(
                    lambda: self._slot_freed, timeout=recheck, timeout_summary="asks for its slot again"
                )
            except TimeoutError:
                pass
            recheck = min(recheck * 2, SLOT_RECHECK_MAX)

    @workflow.signal(name=PAUSE_SIGNAL)
    def pause(self, request: PauseRequest) -> None:
        """Parks the run before its next step (steps under way finish first)."""
        self._pause = request

    @workflow.signal(name=UNPAUSE_SIGNAL)
    def unpause(self, request: Unpause) -> None:
        """Goes on: a paused run, and a step parked by onError "pause" (tried again or given up)."""
        self._pause = None
        self._unpauses += 1
        self._last_unpause = request

    @workflow.signal(name=SLOT_SIGNAL)
    def slot_freed(self) -> None:
        """A concurrency slot freed up for this run (it asks to be sure)."""
        self._slot_freed = True

    async def _run_top(self, steps: list[Step], scope: Scope) -> None:
        assert self._input is not None
        for index in range(self._input.resume_at, len(steps)):
            if index > self._input.resume_at and workflow.info().is_continue_as_new_suggested():
                await self._flush()
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    replace(
                        self._input,
                        resume_at=index,
                        carried_outputs=scope.outputs(),
                        carried_vars=scope.vars,
                        started_at=self._execution["startedAt"],
                        carried_result=self._last_output,
                        carried_response=self._response,
                    )
                )
            await self._run_step(steps[index], scope)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> dict[str, Any]:
        return {
            "status": self._status,
            "current": sorted(self._current),
            "steps": dict(self._statuses),
            "waitingForDecision": sorted(
                step_id for step_id, wait in self._waiting.items() if isinstance(wait, ApprovalWait)
            ),
            # what each step that waits waits for, by step id (core.runs.waits)
            "waits": {step_id: wait.state() for step_id, wait in sorted(self._waiting.items())},
            # POST .../pause came and no unpause since: the run is parked, or will be before its next step
            "pauseRequested": self._pause is not None,
            "response": self._response,
        }

    @workflow.query(name=RESPONSE_QUERY)
    def response(self) -> dict[str, Any] | None:
        return self._response

    @workflow.update(name=AWAIT_RESPONSE_UPDATE, unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def await_response(self) -> dict[str, Any] | None:
        """For sync webhooks: returns the `respond` step's reply as soon as there is one. When the run ends
        without one, the caller reads the run's result instead (this update is abandoned then)."""
        await workflow.wait_condition(lambda: self._response is not None)
        return self._response

    @workflow.update(name=DELIVER_UPDATE, unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        """Hands a waiting step what it waits for (core.runs.waits): an approval its decision, a `wait`
        step its event (worker.event_waits). Like `decide`, it issues no command: histories recorded before
        it replay as they did."""
        if delivery.given() == ["event"] and delivery.event is not None:
            return await take_event(self, delivery, delivery.event)
        return await self._take_decision(self._decision_of(delivery))

    @deliver.validator
    def _validate_delivery(self, delivery: Delivery) -> None:
        if delivery.given() == ["event"] and delivery.event is not None:
            validate_event(self, delivery, delivery.event)
            return
        self._validate_decision(self._decision_of(delivery))

    @staticmethod
    def _decision_of(delivery: Delivery) -> Decision:
        given = delivery.given()
        if given != ["decision"] or delivery.decision is None:
            raise ApplicationError(
                f"a delivery to step {delivery.step_id!r} gives exactly one of: decision, event (got "
                f"{', '.join(given) or 'none'})",
                type="InvalidDelivery",
            )
        if delivery.decision.step_id != delivery.step_id:
            raise ApplicationError(
                f"the decision is for step {delivery.decision.step_id!r}, delivered to {delivery.step_id!r}",
                type="InvalidDelivery",
            )
        return delivery.decision

    @workflow.update(name=DECIDE_UPDATE, unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def decide(self, decision: Decision) -> dict[str, Any]:
        return await self._take_decision(decision)

    async def _take_decision(self, decision: Decision) -> dict[str, Any]:
        if self._approval_wait(decision.step_id) is None:
            # Accepted before the run reached its approval (see the validator): the decision waits for its
            # step, and is refused if the run passes the step or ends first. No command is issued either
            # way, so histories recorded before this replay as they did.
            await workflow.wait_condition(
                lambda: self._approval_wait(decision.step_id) is not None or self._passed(decision.step_id)
            )
            wait = self._approval_wait(decision.step_id)
            if wait is None:
                raise not_waiting(decision)
            check_approver(decision, wait.approvers)
            check_answer(decision, wait)
        self._decisions[decision.step_id] = decision
        return {"stepId": decision.step_id, "approved": decision.approved}

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        """Refuses what can never be taken; a decision for an approval the run has not reached yet is
        accepted and waits in the handler. Updates are validated before the jobs that came with them run, so
        a decision arriving with the run's first workflow task (a worker that was down or busy), or with the
        result that brings the run to its approval, found nothing waiting and was refused."""
        if self._input is None:
            return  # the run's code has not run at all yet: the handler checks once the step waits
        approvers: list[str] | None
        if (wait := self._approval_wait(decision.step_id)) is not None:
            approvers = wait.approvers
            check_answer(decision, wait)
        else:
            approvals = approval_steps(self._input.definition.get("steps", []))
            if decision.step_id not in approvals or self._passed(decision.step_id):
                raise not_waiting(decision)
            approvers = approvals[decision.step_id]
        check_approver(decision, approvers)

    async def _execute(self, step: Step, scope: Scope, key: str, started: str) -> Any:
        """Runs one step through its type's handler (worker.steps.context.HANDLERS): a new step type adds
        its model and its handler, not a branch here."""
        handler = HANDLERS.get(type(step))
        if handler is None:
            raise StepFailed(step.id, f"unknown step type {step.type!r}", "InvalidDefinition")
        return await handler(RunStep(self, StepCall(step, scope, key, started)), step)

    async def _run_batch(self, batch: LoopBatch) -> RunResult:
        """This run is a batch of a loop's items (worker.steps.loops.loop_in_batches)."""
        step = LoopStep.model_validate(batch.loop_step)
        scope = Scope(
            steps={k: {"output": v} for k, v in batch.scope_outputs.items()},
            vars=dict(batch.scope_vars),
            iteration=batch.iteration_path,
        )
        return await run_batch(RunStep(self, StepCall(step, scope, batch.loop_path, "")), batch)

    def _passed(self, step_id: str) -> bool:
        """The step ran to its end in this run (outside loops), or the run is over."""
        return self._statuses.get(step_id) in FINAL_STEP_STATUSES or self._status in TERMINAL_STATUSES


def step_label(definition: WorkflowDefinition, step_id: str) -> str | None:
    """The name (else the id) of the step `step_id`, wherever it is nested; None when there is none."""
    return next(
        (step.label for step, _, _ in iter_steps(definition.steps, "steps") if step.id == step_id), None
    )


load_plugin_handlers()  # a step type without a handler stops the worker here, naming it
