"""What a run of BatonRun holds and the machinery every step handler uses: running a step (its record, its
error policy, its timeout), rendering expressions, buffering and flushing step rows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy as TemporalRetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from core.contract import (
        ENGINE_PATCHES,
        RATE_LIMITED,
        TYPED_ACTIVITIES_PATCH,
        UNAVAILABLE,
        Decision,
        ExecutionStarted,
        PauseRequest,
        RunInput,
        StepRecord,
        StepRows,
        Unpause,
        value_too_large,
    )
    from core.definition.steps import (
        RespondStep,
        Step,
    )
    from core.definition.steps import RetryPolicy as StepRetryPolicy
    from core.expressions import STRICT_KEYS, asks_strict, passing_references, render_value
    from core.models.enums import ExecutionStatus
    from core.runs.timeline import branch_taken
    from core.runs.waits import ApprovalWait, ParkedWait, PauseWait, Wait
    from worker.run_scope import (
        Scope,
        StepFailed,
        StopRun,
        SwitchToLatest,
        describe_failure,
        is_step_error,
    )

RECORD_TIMEOUT = timedelta(seconds=30)
LOCAL_RECORDS_PATCH = "local-records"
LOCAL_ACTIONS_PATCH = "local-actions"
# A value too large for Temporal fails its step. Asked only when a value is too large, so runs recorded
# before it (where such a value went on) replay as they ran.
BOUNDED_PAYLOADS_PATCH = "bounded-payloads"
# Since this patch a workflow with `strictExpressions` fails a step on a missing path (naming it), and `url`
# fields are strict in every workflow. Asked only where a value would render strictly, so runs recorded
# before it (where the path gave null) replay as they ran, and other runs' histories don't change.
STRICT_EXPRESSIONS_PATCH = "strict-expressions"
# Since this patch a `set` step whose output is reused (a resume, a draft run's pinned outputs) merges its
# values into `vars` as if it had run; before it, `vars` missed them. Asked only when such a step is reused.
REUSED_SET_VARS_PATCH = "reused-set-vars"
# Since this patch a step that waits (approval, delay, subworkflow) writes a RUNNING row saying what it waits
# for before it waits (core.runs.live); runs begun before it replay without that write.
LIVE_WAITS_PATCH = "live-waits"
# Since this patch a condition or switch whose branch ends the run with a `stop` is recorded with the branch
# it took ({"result": ...} / {"matched": ...}); before it, with the stop's output (and no branch).
ROUTED_STOP_PATCH = "routed-stop-record"
# Actions whose timeout is longer than this run as regular activities: the server tracks them, a crashed
# worker's attempt is retried on its timeout, and they do not hold the run's workflow task.
LOCAL_ACTION_MAX_TIMEOUT = timedelta(minutes=5)
DEFAULT_ACTION_TIMEOUT = timedelta(minutes=5)
FLUSH_THRESHOLD = 500
# Steps whose output can be a run's result (the last one to complete wins); condition and switch only route.


def waiting_row(
    step: Step,
    key: str,
    wait: Wait,
    started: str,
    step_input: Any = None,
    error: str | None = None,
) -> StepRecord:
    """The RUNNING row of a step that waits, its state saying what for (core.runs.waits)."""
    return StepRecord(
        key,
        step.id,
        step.type,
        ExecutionStatus.RUNNING.value,
        input=step_input,
        error=error,
        started_at=started,
        state=wait.state(),
    )


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


@dataclass(frozen=True)
class StepCall:
    """One call of a step's handler: the step (its model), the scope it runs in, its record key (its id and
    loop iteration) and when it started (worker.run_step.RunStep is the handler's context over it)."""

    step: Any
    scope: Scope
    key: str
    started: str


TRAIL_LINES = 15
RECORD_SUMMARIES = {
    "execution_started": "the run started",
    "execution_finished": "the run ended",
    "write_steps": "step rows",
    "record_steps": "step rows",
}


class RunState:
    def __init__(self) -> None:
        self._input: RunInput | None = None
        self._status = ExecutionStatus.PENDING.value
        self._statuses: dict[str, str] = {}
        self._current: set[str] = set()
        self._records: list[StepRecord] = []
        # The run's start until a write has carried it (core.contract.FIRST_WRITE_ENGINE).
        self._unstarted: ExecutionStarted | None = None
        # What each step that waits now waits for, by step id (decisions name the step by its id).
        self._waiting: dict[str, Wait] = {}
        self._decisions: dict[str, Decision] = {}
        self._response: dict[str, Any] | None = None
        self._last_output: Any = None
        self._execution: dict[str, Any] = {}
        self._action_inputs: dict[str, Any] = {}
        self._queued = False  # the run has a place in a concurrency queue (core.runs.concurrency)
        self._pause: PauseRequest | None = None  # POST .../pause, until .../unpause
        self._unpauses = 0  # how many unpause signals came (a parked step waits for the next)
        self._last_unpause: Unpause | None = None
        self._input_overrides: dict[str, Any] = {}  # step key -> the input an operator gave it
        self._slot_freed = False
        # Steps numbered as they begin (StepRecord.sequence), by record key: run order, which the rows'
        # timestamps cannot give (a workflow task's clock stands still).
        self._sequences: dict[str, int] = {}
        # What the Temporal Web UI shows as the run's current details: what it does now, then the last
        # steps that ended (with the branch a condition or switch took).
        self._trail: list[str] = []

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
            if step.type == "set" and isinstance(output, dict) and self.patched(REUSED_SET_VARS_PATCH):
                scope.vars.update(output)
            self._statuses[key] = ExecutionStatus.SUCCESS.value
            return output
        # a step run again (parked by onError "pause", then unpaused) keeps its place
        self._sequences.setdefault(key, len(self._sequences) + 1)
        if self._pause is not None:  # POST .../pause: held here, before the step begins
            await self._held(step, key)
        started = workflow.now().isoformat()
        self._statuses[key] = ExecutionStatus.RUNNING.value
        self._current.add(key)
        self._show(f"running {step.label} ({step.type})")
        try:
            while True:
                try:
                    output = await self._attempt(step, scope, key, started)
                    break
                except Exception as error:
                    if not is_step_error(error) or step.on_error != "pause":
                        raise
                    fix = await self._parked(step, key, started, describe_failure(step.id, error))
                    if fix.give_up:
                        raise
                    if fix.latest_version:
                        raise SwitchToLatest(step.id, scope.outputs(), dict(scope.vars)) from None
                    if fix.step_input is not None:
                        self._input_overrides[key] = fix.step_input
                    started = workflow.now().isoformat()
        except StopRun as stop:
            routed = stop.routed.get(key)
            own = routed if routed is not None and self.patched(ROUTED_STOP_PATCH) else stop.as_output()
            self._ended(step, key, started, ExecutionStatus.SUCCESS.value, own)
            raise
        except Exception as error:
            if not is_step_error(error):
                raise
            failure = describe_failure(step.id, error)
            self._ended(
                step,
                key,
                started,
                ExecutionStatus.FAILED.value,
                failure.as_output(),
                error=failure.message,
                step_input=self._action_inputs.pop(key, None),
                retries=failure.attempts - 1,
                ended=failure.failed_at,
            )
            if step.on_error == "fail" or step.on_error == "pause":  # "pause": given up by an operator
                raise failure from None
            scope.set_output(step.id, failure.as_output())
            output = (
                failure.as_output()
                if step.on_error == "continue"
                else await self._run_steps(step.on_error, scope)
            )
            scope.set_output(step.id, output)
            return output
        scope.set_output(step.id, output)
        if step.can_be_result:
            self._last_output = output
        # an action activity wrote its own row, in the transaction of its result
        self._ended(step, key, started, ExecutionStatus.SUCCESS.value, output, row=not step.records_itself)
        if not step.records_itself and len(self._records) >= FLUSH_THRESHOLD:
            await self._flush()
        return output

    async def _attempt(self, step: Step, scope: Scope, key: str, started: str) -> Any:
        coroutine = self._execute(step, scope, key, started)
        if step.timeout_seconds and not step.times_itself:
            output = await asyncio.wait_for(coroutine, step.timeout_seconds)
        else:
            output = await coroutine
        if not step.records_itself:  # an action's output is capped in its activity already
            self._check_payload(step.id, output, f"step {step.id!r} output")
        return output

    async def _held(self, step: Step, key: str) -> None:
        """Paused (POST .../pause): a RUNNING row for the step about to begin says so, until unpaused."""
        pause = self._pause or PauseRequest()
        wait = PauseWait(paused_by=pause.by, reason=pause.reason)
        self._waits_before(step, key, wait)
        await self._flush()
        await workflow.wait_condition(lambda: self._pause is None)
        self._waited(step.id, wait)

    async def _parked(self, step: Step, key: str, started: str, failure: Any) -> Unpause:
        """A step failed under onError "pause": its row says so (with its input), and the run waits for an
        operator's word (POST .../unpause): try it again, with an edited input if given, or give up."""
        seen = self._unpauses
        wait = ParkedWait(last_error=failure.message, attempt=failure.attempts)
        self._waits_before(
            step, key, wait, started=started, step_input=self._action_inputs.get(key), error=failure.message
        )
        await self._flush()
        await workflow.wait_condition(lambda: self._unpauses > seen)
        self._waited(step.id, wait)
        return self._last_unpause or Unpause()

    def _waits_before(
        self,
        step: Step,
        key: str,
        wait: Wait,
        *,
        started: str | None = None,
        step_input: Any = None,
        error: str | None = None,
    ) -> None:
        """Buffers a RUNNING row for a step that waits for a person (paused before it, or parked after it
        failed), saying what for, and shows it in the Web UI's current details."""
        self._waiting[step.id] = wait
        self._show(wait.sentence(step.label))
        self._buffer(waiting_row(step, key, wait, started or workflow.now().isoformat(), step_input, error))

    def _ended(
        self,
        step: Step,
        key: str,
        started: str,
        status: str,
        output: Any,
        *,
        error: str | None = None,
        step_input: Any = None,
        row: bool = True,
        retries: int = 0,
        ended: str | None = None,
    ) -> None:
        """A step is over: its status, and its row buffered for the next write (`retries` and `ended`: an
        action's, from its last attempt; the workflow's clock stands still while a workflow task retries a
        local activity)."""
        self._current.discard(key)
        self._statuses[key] = status
        self._note_end(step, status, output, error, retries)
        if row:
            ended = ended or workflow.now().isoformat()
            self._buffer(
                StepRecord(
                    key, step.id, step.type, status, step_input, output, error, started, ended, retries
                )
            )

    def patched(self, patch_id: str) -> bool:
        """`workflow.patched`, except for the patches the run's engine folds in
        (core.contract.ENGINE_PATCHES): those are taken without a marker in the run's history."""
        engine = self._input.engine if self._input is not None else 0
        if any(patch_id in ENGINE_PATCHES.get(n, ()) for n in range(1, engine + 1)):
            return True
        return workflow.patched(patch_id)

    def _check_payload(self, step_id: str, value: Any, what: str) -> None:
        reason = value_too_large(value, what, self._input.value_limit if self._input is not None else 0)
        if reason is not None and self.patched(BOUNDED_PAYLOADS_PATCH):
            raise StepFailed(step_id, reason, "PayloadTooLarge")

    def render(self, call: StepCall, value: Any, field: str) -> Any:
        """Renders a step's field (`{{ }}` expressions against the trigger, earlier steps' outputs and the
        run's variables): StepContext.render, and what plug-in handlers of before the context call."""
        return self._render(value, call.scope, f"step {call.step.id!r} {field}")

    def _render(self, value: Any, scope: Scope, where: str) -> Any:
        assert self._input is not None
        data = scope.expression_data(self._input.trigger_data, self._execution)
        strict = bool(self._input.definition.get("strictExpressions"))
        # a run that carries a value limit (a blob store) passes large values on by reference
        with passing_references(self._input.value_limit > 0):
            if (strict or asks_strict(value)) and self.patched(STRICT_EXPRESSIONS_PATCH):
                return render_value(value, data, where, strict=strict, strict_keys=STRICT_KEYS)
            return render_value(value, data, where)

    def _evaluate(self, value: Any, scope: Scope, where: str) -> Any:
        if not isinstance(value, str):
            return value
        return self._render(value, scope, where)

    async def _execute(self, step: Step, scope: Scope, key: str, started: str) -> Any:
        """Runs one step through its type's handler (worker.interpreter)."""
        raise NotImplementedError

    def _show(self, now: str | None) -> None:
        """The run's current details in the Temporal Web UI (no command: replay is unaffected)."""
        lines = [f"**Now:** {now}", ""] if now else []
        workflow.set_current_details("\n".join([*lines, *reversed(self._trail)]))

    def _note_end(self, step: Step, status: str, output: Any, error: str | None, retries: int) -> None:
        if status == ExecutionStatus.FAILED.value:
            line = f"✗ {step.label} ({step.type}): {error}"
        else:
            line = f"✓ {step.label} ({step.type})"
            if (branch := branch_taken(step.type, output)) is not None:
                line += f" → {branch}"
        if retries:
            line += f" after {retries} {'retry' if retries == 1 else 'retries'}"
        self._trail = [*self._trail[-(TRAIL_LINES - 1) :], line]
        self._show(None)

    def _waits(self, call: StepCall, wait: Wait) -> None:
        """A step is about to wait: the run's state query and the Web UI's current details say what for,
        and its row is buffered saying so (written by the flush before the wait; not for runs begun before
        patch `live-waits`). `_waited` when the wait is over."""
        self._waiting[call.step.id] = wait
        self._show(wait.sentence(call.step.label))
        if not self.patched(LIVE_WAITS_PATCH):
            return
        self._buffer(waiting_row(call.step, call.key, wait, call.started))

    def _waited(self, step_id: str, wait: Wait) -> None:
        """The step waits no more (another iteration of its loop may wait under its id meanwhile)."""
        if self._waiting.get(step_id) is wait:
            del self._waiting[step_id]

    def _approval_wait(self, step_id: str) -> ApprovalWait | None:
        wait = self._waiting.get(step_id)
        return wait if isinstance(wait, ApprovalWait) else None

    def _buffer(self, record: StepRecord) -> None:
        assert self._input is not None
        if self._input.record:
            self._records.append(replace(record, sequence=self._sequences.get(record.key)))

    async def _flush(self) -> None:
        """Writes the buffered rows (and the run's start when no write has carried it yet: before a wait,
        the run shows RUNNING)."""
        assert self._input is not None
        if not self._records and self._unstarted is None:
            return
        records, self._records = self._records, []
        if self.patched(TYPED_ACTIVITIES_PATCH):
            rows = StepRows(self._input.execution_id, records, started=self._unstarted)
            await self._record(RecordActivities.write_steps, rows)
            self._unstarted = None
        else:
            await self._record(RecordActivities.record_steps, self._input.execution_id, records)

    async def _record(self, activity: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Writes rows. Local activities since patch `local-records`: a short idempotent write needs no
        round trip through the server (runs recorded before the patch replay with regular activities)."""
        timeout = RECORD_TIMEOUT
        # named as Baton's record-keeping in the Web UI's timeline, apart from the steps
        summary = f"Baton records: {RECORD_SUMMARIES.get(activity.__name__, activity.__name__)}"
        if self.patched(LOCAL_RECORDS_PATCH):
            await workflow.execute_local_activity_method(
                activity, args=list(args), start_to_close_timeout=timeout, summary=summary
            )
        else:
            await workflow.execute_activity_method(
                activity, args=list(args), start_to_close_timeout=timeout, summary=summary
            )

    def _respond(self, step: RespondStep, scope: Scope, where: str) -> dict[str, Any]:
        self._response = {
            "status": int(self._evaluate(step.status, scope, f"{where} status")),
            "headers": {
                name: str(value)
                for name, value in self._render(step.headers, scope, f"{where} headers").items()
            },
            "body": self._render(step.body, scope, f"{where} body"),
        }
        if step.file is not None:  # the API streams the file's bytes as the answer (core.files)
            self._response["file"] = self._render(step.file, scope, f"{where} file")
        return self._response
