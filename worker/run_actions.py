"""How the run calls an action step's activity (StepContext.call_action): on its execution profile's task
queue (core.execution_profiles), local when short and the profile allows, the rows
buffered before it written by its first attempt, waits on rate limits and outages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.contract import ActionRequest
    from core.definition.steps import ActionStep
    from core.execution_profiles import DEFAULT, ExecutionProfile
    from integrations.catalogue import get_action
    from worker.run_scope import Scope, StepFailed, describe_failure
from worker.run_state import (
    DEFAULT_ACTION_TIMEOUT,
    LOCAL_ACTION_MAX_TIMEOUT,
    LOCAL_ACTIONS_PATCH,
    RunState,
    to_retry_policy,
    wait_before_calling_again,
)

ROWS_AT_ATTEMPT_PATCH = "rows-at-attempt"
# A failed action's step output keeps the service's answer (status, headers, body excerpt) from its error.
FAILED_ANSWER_PATCH = "failed-answer-on-step"
# An action of a profile other than `default` runs on its profile's task queue, with its timeouts.
ACTION_PROFILES_PATCH = "action-profiles"


def action_profile(action: str, data: dict[str, Any] | None = None) -> ExecutionProfile:
    """The profile the catalogue (code, imported with the worker: the same on every replay of a deploy)
    gives the action for this input (a paginated http.request: `long`); `default` for an action it does
    not know."""
    spec = get_action(action)
    return spec.profile_for(data) if spec is not None else DEFAULT


class ActionFailed(StepFailed):
    """An action step failed with the service's answer in hand: its output shows it beside the error."""

    def __init__(self, failure: StepFailed, response: dict[str, Any]) -> None:
        super().__init__(
            failure.step_id, failure.message, failure.error_type, failure.attempts, failure.failed_at
        )
        self.response = response

    def as_output(self) -> dict[str, Any]:
        output = super().as_output()
        output["error"]["response"] = self.response
        return output


def failed_answer(error: BaseException) -> dict[str, Any] | None:
    """The service's answer an action's failure carries in its first detail (activities.actions)."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if not isinstance(cause, ApplicationError) or not cause.details or not isinstance(cause.details[0], dict):
        return None
    response = cause.details[0].get("response")
    return response if isinstance(response, dict) else None


def attempted(error: BaseException) -> bool:
    """The failure came from an attempt of the action's activity (activities.actions.attempt_failure
    put its number on it), so that attempt began, and wrote the rows buffered before it."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if not isinstance(cause, ApplicationError) or not cause.details:
        return False
    first = cause.details[0]
    return isinstance(first, dict) and isinstance(first.get("attempt"), int)


class ActionCalls(RunState):
    async def call_action(
        self, step: ActionStep, scope: Scope, key: str, started: str, given: dict[str, Any] | None = None
    ) -> Any:
        assert self._input is not None
        # an operator's edited input (unpause of a step parked by onError "pause"), else the one given as
        # is (an agent's call), else the rendered one
        data = self._input_overrides.get(key)
        if data is None:
            data = given
        if data is None:
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
            started=self._unstarted,
            sequence=self._sequences.get(key),
            output_limit=self._input.value_limit,
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
                    await workflow.sleep(wait, summary=f"{step.label}: waits for the rate limit")
                    request.again = True
        except BaseException as error:
            # Since patch `rows-at-attempt` an attempt writes the buffered rows as it begins: a failure
            # that an attempt reported (its figures on it) had written them. Otherwise keep them for the
            # next write.
            if not (attempted(error) and self.patched(ROWS_AT_ATTEMPT_PATCH)):
                self._records = records + self._records
            response = failed_answer(error)
            # Runs recorded before the patch replay with the error alone in the step's output.
            if response is not None and self.patched(FAILED_ANSWER_PATCH):
                raise ActionFailed(describe_failure(step.id, error), response) from error
            raise
        self._unstarted = None  # the activity wrote it with its rows
        self._action_inputs.pop(key, None)
        return output

    async def _call_action(self, step: ActionStep, request: ActionRequest) -> dict[str, Any]:
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
        profile = action_profile(step.action, request.input)
        # Asked only off the default profile, so every run recorded before it replays unchanged.
        if profile is not DEFAULT and self.patched(ACTION_PROFILES_PATCH):
            if not step.timeout_seconds:
                options["start_to_close_timeout"] = timeout = profile.default_timeout
            if profile.heartbeat_timeout is not None:
                options["heartbeat_timeout"] = profile.heartbeat_timeout
            if profile.local_allowed and timeout <= LOCAL_ACTION_MAX_TIMEOUT:
                return await workflow.execute_local_activity(step.action, request, **options)  # type: ignore[no-any-return]
            queue = profile.task_queue(workflow.info().task_queue)
            return await workflow.execute_activity(step.action, request, task_queue=queue, **options)  # type: ignore[no-any-return]
        if timeout <= LOCAL_ACTION_MAX_TIMEOUT and self.patched(LOCAL_ACTIONS_PATCH):
            return await workflow.execute_local_activity(step.action, request, **options)  # type: ignore[no-any-return]
        return await workflow.execute_activity(step.action, request, **options)  # type: ignore[no-any-return]
