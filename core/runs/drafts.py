"""Building a workflow without re-running all of it: draft runs whose earlier steps are pinned, and one step
of the draft tested alone with given values.

- **Pinned outputs.** A draft run (`POST .../run?draft=true`) may take `pinnedOutputs {stepId: output}`
  and/or `pinnedFrom {executionId, steps?}` (the outputs of the steps that succeeded in an earlier run of
  the same workflow, its trigger data too unless a payload is given): a pinned step is not called, its
  output is the given one, and a pinned `set` step's values are in `vars` as if it had run. This is the
  resume machinery (`reused_outputs`), so a pinned step is skipped where the run meets it.
- **Test a step.** `POST .../workflows/{id}/steps/{stepId}/test {input?, context?}` runs that one step of
  the saved draft (the real activity for an action) as a test run (`context.test`), with the data its
  expressions read given in `context` (`trigger`, `steps {id: output}`, `vars`, or `executionId` to take
  them from an earlier run); `input` replaces an action's (or a subworkflow's) input. The step runs with
  its own nested steps (a condition's branch), nothing before or after it.

Both are draft-only: a published version runs as published.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from core.contract import find_step, step_ids_in_order
from core.definition.steps import WorkflowDefinition
from core.errors import InvalidInput, NotFound
from core.runs.starts import RunStarts, StartedRun, StartRequest

# The step types whose `input` a test may replace.
TAKES_INPUT = frozenset({"action", "subworkflow"})


class DraftRuns:
    """The editor's runs: a draft with pinned outputs, one step alone."""

    def __init__(self, starts: RunStarts) -> None:
        self._starts = starts

    async def run_pinned(
        self,
        workflow_id: str,
        payload: Any | None,
        *,
        pinned_outputs: dict[str, Any] | None = None,
        pinned_from: str | None = None,
        pinned_steps: list[str] | None = None,
    ) -> StartedRun:
        """A draft run whose pinned steps are not called. `payload` None: the pinned run's trigger data (or
        `{}`). `pinned_steps` limits what `pinned_from` pins (its steps that succeeded, by default)."""
        target = await self._starts.draft(workflow_id)
        order = step_ids_in_order(target.definition.get("steps", []))
        pinned: dict[str, Any] = {}
        if pinned_from is not None:
            trigger, outputs = await self._earlier_run(workflow_id, pinned_from, "pinnedFrom.executionId")
            for step_id in pinned_steps if pinned_steps is not None else list(outputs):
                if step_id not in outputs:
                    raise InvalidInput(
                        f"step {step_id!r} did not succeed in execution {pinned_from}: nothing to pin",
                        path="pinnedFrom.steps",
                    )
                pinned[step_id] = outputs[step_id]
            pinned = {step_id: output for step_id, output in pinned.items() if step_id in order}
            if payload is None:
                payload = trigger
        for step_id, output in (pinned_outputs or {}).items():
            if step_id not in order:
                raise InvalidInput(f"the draft has no step {step_id!r}", path=f"pinnedOutputs.{step_id}")
            pinned[step_id] = output
        return await self._starts.start(
            StartRequest(
                target,
                {} if payload is None else payload,
                trigger_type="MANUAL",
                test=True,
                reused_outputs=pinned,
            )
        )

    async def test_step(
        self,
        workflow_id: str,
        step_id: str,
        *,
        step_input: Any = None,
        trigger: Any = None,
        outputs: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        from_execution: str | None = None,
    ) -> StartedRun:
        """Runs the draft's step `step_id` alone as a test run. What its expressions read: `trigger`,
        `outputs` (other steps' outputs by id) and `variables`, over those of `from_execution` if given."""
        draft = await self._starts.draft(workflow_id)
        raw = find_step(draft.definition.get("steps", []), step_id)
        if raw is None:
            raise NotFound(f"the draft of workflow {workflow_id} has no step {step_id!r}")
        step = dict(raw)
        if step_input is not None:
            if step.get("type") not in TAKES_INPUT:
                raise InvalidInput(
                    f"a {step.get('type')} step takes no input; give its data in `context`", path="input"
                )
            step["input"] = step_input
        scope_outputs: dict[str, Any] = {}
        if from_execution is not None:
            earlier_trigger, scope_outputs = await self._earlier_run(
                workflow_id, from_execution, "context.executionId"
            )
            trigger = earlier_trigger if trigger is None else trigger
        scope_outputs = {**scope_outputs, **(outputs or {})}
        scope_outputs.pop(step_id, None)  # the step's own output is what the test makes
        definition = {**draft.definition, "steps": [step]}
        try:
            WorkflowDefinition.model_validate(definition)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise InvalidInput(f"the step with this input is not valid: {reason}", path="input") from None
        return await self._starts.start(
            StartRequest(
                replace(draft, definition=definition),
                {} if trigger is None else trigger,
                trigger_type="MANUAL",
                test=True,
                scope_outputs=scope_outputs,
                scope_vars=dict(variables or {}),
            )
        )

    async def _earlier_run(
        self, workflow_id: str, execution_id: str, path: str
    ) -> tuple[Any, dict[str, Any]]:
        """An earlier run of the same workflow: its trigger data and its succeeded steps' outputs."""
        try:
            execution = await self._starts.rows.get(execution_id)
        except NotFound:
            execution = None
        if execution is None or execution.workflow_id != workflow_id:
            raise InvalidInput(f"no execution {execution_id} of this workflow", path=path)
        return execution.trigger_data, await self._starts.rows.succeeded_outputs(execution_id)
