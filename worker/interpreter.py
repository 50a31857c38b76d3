"""`BatonRun`: the one workflow type that interprets any workflow definition version.

Action steps are activities named after the action (`http.request`) with the step's name as summary; pure
steps (condition, switch, set, loop/parallel bookkeeping) run here, deterministically. Step rows are
buffered and written piggy-backed on the next action activity, before long waits, or at the end.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy as TemporalRetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from core.contract import (
        AWAIT_RESPONSE_UPDATE,
        DECIDE_UPDATE,
        INTERPRETER_WORKFLOW,
        MAX_DELAY_SECONDS,
        MAX_SUBWORKFLOW_DEPTH,
        RATE_LIMITED,
        RESPONSE_QUERY,
        STATE_QUERY,
        UNAVAILABLE,
        WEBHOOK_RESPOND_ACTION,
        ActionRequest,
        Decision,
        ExecutionFinished,
        ExecutionStarted,
        LoopBatch,
        RunInput,
        RunResult,
        StepRecord,
        action_integrations,
        approval_steps,
        run_workflow_id,
        too_large,
    )
    from core.definition.steps import (
        ActionStep,
        ApprovalStep,
        ConditionStep,
        DelayStep,
        LoopStep,
        ParallelStep,
        RespondStep,
        SetStep,
        Step,
        StepBase,
        StopStep,
        SubworkflowStep,
        SwitchStep,
        WorkflowDefinition,
    )
    from core.definition.steps import RetryPolicy as StepRetryPolicy
    from core.expressions import render_value
    from core.models.enums import FINAL_STEP_STATUSES, TERMINAL_STATUSES, ExecutionStatus
    from worker.run_scope import STEP_ERRORS, Scope, StepFailed, StopRun, describe_failure

RECORD_TIMEOUT = timedelta(seconds=30)
LOCAL_RECORDS_PATCH = "local-records"
LOCAL_ACTIONS_PATCH = "local-actions"
# A value too large for Temporal fails its step. Asked only when a value is too large, so runs recorded
# before it (where such a value went on) replay as they ran.
BOUNDED_PAYLOADS_PATCH = "bounded-payloads"
# Actions whose timeout is longer than this run as regular activities: the server tracks them, a crashed
# worker's attempt is retried on its timeout, and they do not hold the run's workflow task.
LOCAL_ACTION_MAX_TIMEOUT = timedelta(minutes=5)
DEFAULT_ACTION_TIMEOUT = timedelta(minutes=5)
FLUSH_THRESHOLD = 500
# Steps whose output can be a run's result (the last one to complete wins); condition and switch only route.


def to_retry_policy(policy: StepRetryPolicy | None) -> TemporalRetryPolicy:
    if policy is None:
        return TemporalRetryPolicy(maximum_attempts=3)
    return TemporalRetryPolicy(
        maximum_attempts=policy.max_attempts,
        initial_interval=timedelta(seconds=policy.initial_interval_seconds),
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=timedelta(seconds=policy.maximum_interval_seconds)
        if policy.maximum_interval_seconds
        else None,
    )


def wait_before_calling_again(failure: ActivityError | ApplicationError) -> float | None:
    """Seconds to wait when an action's attempts all ended on its rate limit or on Baton's own PostgreSQL or
    Redis out of reach (neither is the step's failure); None for other failures. A regular activity's
    failure wraps the activity's error; a local activity's is that error itself."""
    cause = failure.cause if isinstance(failure, ActivityError) else failure
    if not isinstance(cause, ApplicationError) or cause.type not in (RATE_LIMITED, UNAVAILABLE):
        return None
    details = cause.details[0] if cause.details else {}
    return float(details.get("retryAfter", 1)) if isinstance(details, dict) else 1.0


def _not_waiting(decision: Decision) -> ApplicationError:
    return ApplicationError(f"step {decision.step_id!r} is not waiting for a decision", type="NotWaiting")


def _check_approver(decision: Decision, approvers: list[str] | None) -> None:
    if approvers and decision.by not in approvers:
        raise ApplicationError(
            f"{decision.by or 'an anonymous caller'} may not decide step {decision.step_id!r}",
            type="NotAnApprover",
        )


# Not sandboxed: Temporal's sandbox re-imports a workflow's module for every run, which cost this
# interpreter about 35% of its throughput at 50 concurrent runs (bench/engine.py). It runs no user code
# outside the Jinja sandbox of core.expressions, takes time and ids only from `workflow.*`, and the replay
# tests (tests/worker/test_replay.py) fail on any change that would break runs in flight.
@dataclass(frozen=True)
class StepCall:
    """What a step's handler gets: the step (its model), the scope it runs in, its record key (its id and
    loop iteration) and when it started."""

    step: Any
    scope: Scope
    key: str
    started: str


@workflow.defn(name=INTERPRETER_WORKFLOW, sandboxed=False)
class BatonRun:
    def __init__(self) -> None:
        self._input: RunInput | None = None
        self._status = ExecutionStatus.PENDING.value
        self._statuses: dict[str, str] = {}
        self._current: set[str] = set()
        self._records: list[StepRecord] = []
        self._waiting: dict[str, ApprovalStep] = {}
        self._decisions: dict[str, Decision] = {}
        self._response: dict[str, Any] | None = None
        self._last_output: Any = None
        self._execution: dict[str, Any] = {}
        self._action_inputs: dict[str, Any] = {}

    # ------------------------------------------------------------------ entry point

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
            raise ApplicationError(reason, type="InvalidDefinition", non_retryable=True) from None
        self._execution = {"id": run.execution_id, "workflowId": run.workflow_id, "startedAt": started_at}
        if run.batch is not None:
            return await self._run_batch(run.batch)
        self._status = ExecutionStatus.RUNNING.value
        self._last_output, self._response = run.carried_result, run.carried_response
        if run.record and run.resume_at == 0:
            await self._record(
                RecordActivities.execution_started,
                ExecutionStarted(run.execution_id, run.workflow_id, run.trigger_data, started_at),
            )
        scope = Scope(
            steps={k: {"output": v} for k, v in run.carried_outputs.items()}, vars=dict(run.carried_vars)
        )
        error: str | None = None
        try:
            body = self._run_top(definition.steps, scope)
            if run.timeout_seconds:
                await asyncio.wait_for(body, run.timeout_seconds)
            else:
                await body
            status = ExecutionStatus.SUCCESS.value
        except StopRun as stop:
            status, error = (
                stop.status,
                (stop.message if stop.status == ExecutionStatus.FAILED.value else None),
            )
        except StepFailed as failure:
            status, error = ExecutionStatus.FAILED.value, failure.message
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
        oversize = too_large(result, "the run's result")
        if oversize is not None and workflow.patched(BOUNDED_PAYLOADS_PATCH):
            status, error, result = ExecutionStatus.FAILED.value, oversize, None
        self._status = status
        await self._finish(status, error, result)
        if status in (ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value):
            raise ApplicationError(error or status, type=status, non_retryable=True)
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
            ),
        )

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

    # ------------------------------------------------------------------ queries and updates

    @workflow.query(name=STATE_QUERY)
    def state(self) -> dict[str, Any]:
        return {
            "status": self._status,
            "current": sorted(self._current),
            "steps": dict(self._statuses),
            "waitingForDecision": sorted(self._waiting),
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

    @workflow.update(name=DECIDE_UPDATE, unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def decide(self, decision: Decision) -> dict[str, Any]:
        if decision.step_id not in self._waiting:
            # Accepted before the run reached its approval (see the validator): the decision waits for its
            # step, and is refused if the run passes the step or ends first. No command is issued either
            # way, so histories recorded before this replay as they did.
            await workflow.wait_condition(
                lambda: decision.step_id in self._waiting or self._passed(decision.step_id)
            )
            step = self._waiting.get(decision.step_id)
            if step is None:
                raise _not_waiting(decision)
            _check_approver(decision, step.approvers)
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
        if (step := self._waiting.get(decision.step_id)) is not None:
            approvers = step.approvers
        else:
            approvals = approval_steps(self._input.definition.get("steps", []))
            if decision.step_id not in approvals or self._passed(decision.step_id):
                raise _not_waiting(decision)
            approvers = approvals[decision.step_id]
        _check_approver(decision, approvers)

    def _passed(self, step_id: str) -> bool:
        """The step ran to its end in this run (outside loops), or the run is over."""
        return self._statuses.get(step_id) in FINAL_STEP_STATUSES or self._status in TERMINAL_STATUSES

    # ------------------------------------------------------------------ steps

    async def _run_steps(self, steps: list[Step], scope: Scope) -> Any:
        output = None
        for step in steps:
            output = await self._run_step(step, scope)
        return output

    async def _run_step(self, step: Step, scope: Scope) -> Any:
        assert self._input is not None
        key = step.id + scope.iteration
        if not scope.iteration and step.id in self._input.reused_outputs:
            output = self._input.reused_outputs[step.id]
            scope.set_output(step.id, output)
            self._statuses[key] = ExecutionStatus.SUCCESS.value
            return output
        started = workflow.now().isoformat()
        self._statuses[key] = ExecutionStatus.RUNNING.value
        self._current.add(key)
        try:
            coroutine = self._execute(step, scope, key, started)
            if step.timeout_seconds and not step.times_itself:
                output = await asyncio.wait_for(coroutine, step.timeout_seconds)
            else:
                output = await coroutine
            if not isinstance(step, ActionStep):  # an action's output is capped in its activity already
                self._check_payload(step.id, output, f"step {step.id!r} output")
        except StopRun as stop:
            self._current.discard(key)
            self._statuses[key] = ExecutionStatus.SUCCESS.value
            self._buffer(
                StepRecord(
                    key,
                    step.id,
                    step.type,
                    ExecutionStatus.SUCCESS.value,
                    None,
                    {"status": stop.status, "message": stop.message},
                    None,
                    started,
                    workflow.now().isoformat(),
                )
            )
            raise
        except STEP_ERRORS as error:
            self._current.discard(key)
            failure = describe_failure(step.id, error)
            self._statuses[key] = ExecutionStatus.FAILED.value
            self._buffer(
                StepRecord(
                    key,
                    step.id,
                    step.type,
                    ExecutionStatus.FAILED.value,
                    self._action_inputs.pop(key, None),
                    failure.as_output(),
                    failure.message,
                    started,
                    workflow.now().isoformat(),
                )
            )
            if step.on_error == "fail":
                raise failure from None
            scope.set_output(step.id, failure.as_output())
            output = (
                failure.as_output()
                if step.on_error == "continue"
                else await self._run_steps(step.on_error, scope)
            )
            scope.set_output(step.id, output)
            return output
        self._current.discard(key)
        self._statuses[key] = ExecutionStatus.SUCCESS.value
        scope.set_output(step.id, output)
        if step.can_be_result:
            self._last_output = output
        if not isinstance(step, ActionStep):  # an action activity records its own success
            self._buffer(
                StepRecord(
                    key,
                    step.id,
                    step.type,
                    ExecutionStatus.SUCCESS.value,
                    None,
                    output,
                    None,
                    started,
                    workflow.now().isoformat(),
                )
            )
            if len(self._records) >= FLUSH_THRESHOLD:
                await self._flush()
        return output

    @staticmethod
    def _check_payload(step_id: str, value: Any, what: str) -> None:
        reason = too_large(value, what)
        if reason is not None and workflow.patched(BOUNDED_PAYLOADS_PATCH):
            raise StepFailed(step_id, reason, "PayloadTooLarge")

    def _render(self, value: Any, scope: Scope, where: str) -> Any:
        assert self._input is not None
        return render_value(value, scope.expression_data(self._input.trigger_data, self._execution), where)

    def _evaluate(self, value: Any, scope: Scope, where: str) -> Any:
        if not isinstance(value, str):
            return value
        return self._render(value, scope, where)

    async def _execute(self, step: Step, scope: Scope, key: str, started: str) -> Any:
        """Runs one step through its type's handler (HANDLERS): a new step type adds its model and a
        handler, not a branch here."""
        handler = HANDLERS.get(type(step))
        if handler is None:
            raise StepFailed(step.id, f"unknown step type {step.type!r}", "InvalidDefinition")
        return await handler(self, StepCall(step, scope, key, started))

    async def _action_step(self, call: StepCall) -> Any:
        step: ActionStep = call.step
        scope, key, started = call.scope, call.key, call.started
        if step.action == WEBHOOK_RESPOND_ACTION:
            # The catalogue's spelling of a respond step: the reply is the run's, not an activity's.
            if not isinstance(step.input, dict):
                raise StepFailed(step.id, "webhook.respond needs an input object", "InvalidInput")
            respond = RespondStep.model_validate({"id": step.id, "type": "respond", **step.input})
            return self._respond(respond, scope, f"step {step.id!r}")
        return await self._action(step, scope, key, started)

    async def _condition_step(self, call: StepCall) -> Any:
        step: ConditionStep = call.step
        scope = call.scope
        result = bool(self._evaluate(step.if_, scope, f"step {step.id!r} if"))
        await self._run_steps(step.then if result else step.else_, scope)
        return {"result": result}

    async def _switch_step(self, call: StepCall) -> Any:
        step: SwitchStep = call.step
        scope = call.scope
        value = self._evaluate(step.value, scope, f"step {step.id!r} value")
        matched = str(value).lower() if isinstance(value, bool) else str(value)
        if matched in step.cases:
            await self._run_steps(step.cases[matched], scope)
            return {"matched": matched}
        await self._run_steps(step.default, scope)
        return {"matched": None}

    async def _loop_step(self, call: StepCall) -> Any:
        step: LoopStep = call.step
        scope, key = call.scope, call.key
        return await self._loop(step, scope, key)

    async def _parallel_step(self, call: StepCall) -> Any:
        step: ParallelStep = call.step
        scope = call.scope
        return await self._parallel(step, scope)

    async def _delay_step(self, call: StepCall) -> Any:
        step: DelayStep = call.step
        scope = call.scope
        return await self._delay(step, scope)

    async def _approval_step(self, call: StepCall) -> Any:
        step: ApprovalStep = call.step
        return await self._approval(step)

    async def _set_step(self, call: StepCall) -> Any:
        step: SetStep = call.step
        scope = call.scope
        values = self._render(step.values, scope, f"step {step.id!r} values")
        scope.vars.update(values)
        return values

    async def _subworkflow_step(self, call: StepCall) -> Any:
        step: SubworkflowStep = call.step
        scope = call.scope
        return await self._subworkflow(step, scope)

    async def _respond_step(self, call: StepCall) -> Any:
        step: RespondStep = call.step
        scope = call.scope
        return self._respond(step, scope, f"step {step.id!r}")

    async def _stop_step(self, call: StepCall) -> Any:
        step: StopStep = call.step
        scope = call.scope
        message = self._render(step.message, scope, f"step {step.id!r} message") if step.message else None
        raise StopRun(step.status, message)

    def _respond(self, step: RespondStep, scope: Scope, where: str) -> dict[str, Any]:
        self._response = {
            "status": int(self._evaluate(step.status, scope, f"{where} status")),
            "headers": {
                name: str(value)
                for name, value in self._render(step.headers, scope, f"{where} headers").items()
            },
            "body": self._render(step.body, scope, f"{where} body"),
        }
        return self._response

    async def _action(self, step: ActionStep, scope: Scope, key: str, started: str) -> Any:
        assert self._input is not None
        data = self._render(step.input, scope, f"step {step.id!r} input")
        if not isinstance(data, dict):
            raise StepFailed(step.id, f"input must be an object, got {type(data).__name__}", "InvalidInput")
        self._check_payload(step.id, data, f"step {step.id!r} input")
        self._action_inputs[key] = data
        records, self._records = self._records, []
        request = ActionRequest(
            input=data,
            execution_id=self._input.execution_id,
            step_id=step.id,
            step_key=key,
            connection_id=step.connection_id,
            records=records,
            record=self._input.record,
            started_at=started,
            workspace_id=self._input.workspace_id,
        )
        try:
            while True:
                try:
                    output = await self._call_action(step, request)
                    break
                except (ActivityError, ApplicationError) as failure:
                    # Every attempt met the connection's rate limit, or an outage of Baton's own servers:
                    # wait (for the window, for the server), never fail.
                    wait = wait_before_calling_again(failure)
                    if wait is None:
                        raise
                    await workflow.sleep(wait)
                    request.again = True
        except BaseException:
            self._records = records + self._records  # not written: keep them for the next write
            raise
        self._action_inputs.pop(key, None)
        return output

    @staticmethod
    async def _call_action(step: ActionStep, request: ActionRequest) -> dict[str, Any]:
        """The action's activity: a local activity since patch `local-actions` (it runs in the worker that
        runs the workflow, in the same workflow task, so a run of short steps costs one server round trip
        instead of two per step; a crash mid-call re-runs it, as a regular activity's retry would, with the
        same idempotency key). Runs recorded before the patch replay with regular activities."""
        timeout = timedelta(seconds=step.timeout_seconds) if step.timeout_seconds else DEFAULT_ACTION_TIMEOUT
        options: dict[str, Any] = {
            "start_to_close_timeout": timeout,
            "retry_policy": to_retry_policy(step.retry),
            "summary": step.label,
            "result_type": dict,
        }
        if timeout <= LOCAL_ACTION_MAX_TIMEOUT and workflow.patched(LOCAL_ACTIONS_PATCH):
            return await workflow.execute_local_activity(step.action, request, **options)  # type: ignore[no-any-return]
        return await workflow.execute_activity(step.action, request, **options)  # type: ignore[no-any-return]

    async def _loop(self, step: LoopStep, scope: Scope, key: str) -> Any:
        assert self._input is not None
        items = self._evaluate(step.items, scope, f"step {step.id!r} items")
        if not isinstance(items, list):
            raise StepFailed(step.id, f"items must be a list, got {type(items).__name__}", "InvalidInput")
        if step.max_items is not None and len(items) > step.max_items:
            raise StepFailed(
                step.id, f"{len(items)} items is more than maxItems ({step.max_items})", "TooManyItems"
            )
        if len(items) > self._input.loop_batch_size and self._input.batch is None:
            results = await self._loop_in_batches(step, scope, key, items)
        else:
            results = await self._loop_items(step, scope, items, 0)
        return {"results": results}

    async def _loop_items(self, step: LoopStep, scope: Scope, items: list[Any], offset: int) -> list[Any]:
        results: list[Any] = [None] * len(items)
        last_id = step.steps[-1].id
        last_scope: list[Scope] = []

        async def one(position: int) -> None:
            item_scope = scope.for_item(items[position], offset + position)
            await self._run_steps(step.steps, item_scope)
            results[position] = item_scope.output(last_id)
            if position == len(items) - 1:
                last_scope.append(item_scope)

        if step.concurrency == 1:
            for position in range(len(items)):
                await one(position)
        else:
            await self._bounded(step.concurrency, [one(position) for position in range(len(items))])
        if last_scope:  # after the loop, its inner steps read as their last item's outputs
            scope.steps.update(last_scope[0].steps)
        return results

    async def _loop_in_batches(self, step: LoopStep, scope: Scope, key: str, items: list[Any]) -> list[Any]:
        assert self._input is not None
        await self._flush()
        results: list[Any] = []
        size = self._input.loop_batch_size
        for offset in range(0, len(items), size):
            batch = LoopBatch(
                loop_path=key,
                items=items[offset : offset + size],
                offset=offset,
                scope_outputs=scope.outputs(),
                scope_vars=scope.vars,
                iteration_path=scope.iteration,
                loop_step=step.model_dump(by_alias=True, exclude_none=True),
            )
            child: RunResult = await workflow.execute_child_workflow(
                INTERPRETER_WORKFLOW,
                replace(self._input, batch=batch, reused_outputs={}, resume_at=0),
                id=f"{run_workflow_id(self._input.execution_id)}-{key.replace('/', '.')}-{offset}",
                result_type=RunResult,
                static_summary=f"{step.label}: items {offset}-{offset + len(batch.items) - 1}",
            )
            results.extend(child.results or [])
        return results

    async def _run_batch(self, batch: LoopBatch) -> RunResult:
        step = LoopStep.model_validate(batch.loop_step)
        scope = Scope(
            steps={k: {"output": v} for k, v in batch.scope_outputs.items()},
            vars=dict(batch.scope_vars),
            iteration=batch.iteration_path,
        )
        try:
            results = await self._loop_items(step, scope, batch.items, batch.offset)
        except StepFailed as failure:
            await self._flush()
            raise ApplicationError(failure.message, type=failure.error_type, non_retryable=True) from None
        await self._flush()
        return RunResult(status=ExecutionStatus.SUCCESS.value, results=results)

    async def _parallel(self, step: ParallelStep, scope: Scope) -> Any:
        branch_scopes = [scope.for_branch() for _ in step.branches]
        tasks = [
            asyncio.create_task(self._run_steps(branch, branch_scope))
            for branch, branch_scope in zip(step.branches, branch_scopes, strict=True)
        ]
        await self._all_or_first_failure(tasks)
        for branch_scope in branch_scopes:
            scope.merge(branch_scope)
        return {"branches": [task.result() for task in tasks]}

    async def _delay(self, step: DelayStep, scope: Scope) -> Any:
        seconds = self._delay_seconds(step, scope)
        if seconds > 0:
            await self._flush()
            await workflow.sleep(seconds)
        return {"resumedAt": workflow.now().isoformat()}

    def _delay_seconds(self, step: DelayStep, scope: Scope) -> float:
        """How long a delay step waits; a value that is no duration or date fails the step, naming it."""
        if step.seconds is not None:
            where = f"step {step.id!r} seconds"
            value = self._evaluate(step.seconds, scope, where)
            try:
                seconds = float(value)
            except (TypeError, ValueError, OverflowError):
                raise StepFailed(
                    step.id, f"{where}: {value!r} is not a number of seconds", "InvalidValue"
                ) from None
        else:
            where = f"step {step.id!r} until"
            value = self._evaluate(step.until, scope, where)
            try:
                until = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise StepFailed(
                    step.id,
                    f"{where}: {value!r} is not an ISO 8601 date and time (e.g. 2026-12-24T09:00:00Z)",
                    "InvalidValue",
                ) from None
            if until.tzinfo is None:
                until = until.replace(tzinfo=workflow.now().tzinfo)
            seconds = (until - workflow.now()).total_seconds()
        if not math.isfinite(seconds) or seconds > MAX_DELAY_SECONDS:
            raise StepFailed(
                step.id,
                f"{where}: {value!r} is longer than the longest delay "
                f"({MAX_DELAY_SECONDS // 31536000} years)",
                "InvalidValue",
            )
        return seconds

    async def _approval(self, step: ApprovalStep) -> Any:
        self._waiting[step.id] = step
        self._decisions.pop(step.id, None)
        await self._flush()
        try:
            await workflow.wait_condition(lambda: step.id in self._decisions, timeout=step.timeout_seconds)
        except TimeoutError:
            return {
                "approved": step.default_decision == "approve",
                "by": None,
                "comment": None,
                "timedOut": True,
            }
        finally:
            self._waiting.pop(step.id, None)
        decision = self._decisions[step.id]
        return {"approved": decision.approved, "by": decision.by, "comment": decision.comment}

    async def _subworkflow(self, step: SubworkflowStep, scope: Scope) -> Any:
        assert self._input is not None
        if self._input.depth + 1 > MAX_SUBWORKFLOW_DEPTH:
            raise StepFailed(step.id, f"subworkflows nest deeper than {MAX_SUBWORKFLOW_DEPTH}", "TooDeep")
        data = self._render(step.input, scope, f"step {step.id!r} input")
        await self._flush()
        version: dict[str, Any] = await workflow.execute_activity_method(
            RecordActivities.load_published_version,
            step.workflow_id,
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        child_execution = str(workflow.uuid4())
        child: RunResult = await workflow.execute_child_workflow(
            INTERPRETER_WORKFLOW,
            RunInput(
                execution_id=child_execution,
                workflow_id=step.workflow_id,
                workspace_id=version["workspaceId"],
                version=version["version"],
                definition=version["definition"],
                trigger_data=data,
                trigger_type="SUBWORKFLOW",
                depth=self._input.depth + 1,
                record=self._input.record,
                loop_batch_size=self._input.loop_batch_size,
            ),
            id=run_workflow_id(child_execution),
            result_type=RunResult,
            retry_policy=to_retry_policy(step.retry) if step.retry else None,
            execution_timeout=timedelta(seconds=step.timeout_seconds) if step.timeout_seconds else None,
            static_summary=step.label,
        )
        return child.result

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _bounded(limit: int, coroutines: list[Any]) -> None:
        semaphore = asyncio.Semaphore(limit)

        async def guarded(coroutine: Any) -> None:
            async with semaphore:
                await coroutine

        await BatonRun._all_or_first_failure([asyncio.create_task(guarded(c)) for c in coroutines])

    @staticmethod
    async def _all_or_first_failure(tasks: list[asyncio.Task[Any]]) -> None:
        """Waits for every task; on the first failure cancels the rest, waits for them, re-raises it."""
        done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [task for task in done if task.exception() is not None]
        if failed:
            for task in pending:
                task.cancel()
            if pending:
                await workflow.wait(pending)
            raise failed[0].exception()  # type: ignore[misc]

    def _buffer(self, record: StepRecord) -> None:
        assert self._input is not None
        if self._input.record:
            self._records.append(record)

    async def _flush(self) -> None:
        assert self._input is not None
        if not self._records:
            return
        records, self._records = self._records, []
        await self._record(RecordActivities.record_steps, self._input.execution_id, records)

    @staticmethod
    async def _record(activity: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Writes rows. Local activities since patch `local-records`: a short idempotent write needs no
        round trip through the server (runs recorded before the patch replay with regular activities)."""
        timeout = RECORD_TIMEOUT
        if workflow.patched(LOCAL_RECORDS_PATCH):
            await workflow.execute_local_activity_method(
                activity, args=list(args), start_to_close_timeout=timeout
            )
        else:
            await workflow.execute_activity_method(activity, args=list(args), start_to_close_timeout=timeout)


# Each step model's handler: (the run, the step's call) -> its output.
Handler = Callable[[BatonRun, StepCall], Awaitable[Any]]
HANDLERS: dict[type[StepBase], Handler] = {
    ActionStep: BatonRun._action_step,
    ConditionStep: BatonRun._condition_step,
    SwitchStep: BatonRun._switch_step,
    LoopStep: BatonRun._loop_step,
    ParallelStep: BatonRun._parallel_step,
    DelayStep: BatonRun._delay_step,
    ApprovalStep: BatonRun._approval_step,
    SetStep: BatonRun._set_step,
    SubworkflowStep: BatonRun._subworkflow_step,
    RespondStep: BatonRun._respond_step,
    StopStep: BatonRun._stop_step,
}
