"""Condition, switch, set, respond and stop: steps that run here, in the workflow's code."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.definition.steps import (
        ConditionStep,
        RespondStep,
        SetStep,
        StopStep,
        SwitchStep,
    )
    from worker.run_scope import StopRun
from worker.run_state import RunState, StepCall


class ControlSteps(RunState):
    async def _condition_step(self, call: StepCall) -> Any:
        step: ConditionStep = call.step
        scope = call.scope
        result = bool(self._evaluate(step.if_, scope, f"step {step.id!r} if"))
        return await self._route(call, step.then if result else step.else_, {"result": result})

    async def _switch_step(self, call: StepCall) -> Any:
        step: SwitchStep = call.step
        scope = call.scope
        value = self._evaluate(step.value, scope, f"step {step.id!r} value")
        matched = str(value).lower() if isinstance(value, bool) else str(value)
        if matched in step.cases:
            return await self._route(call, step.cases[matched], {"matched": matched})
        return await self._route(call, step.default, {"matched": None})

    async def _route(self, call: StepCall, branch: list[Any], output: dict[str, Any]) -> Any:
        """Runs the branch a condition or switch took; its output says which, also when the branch ends
        the run with a `stop`."""
        try:
            await self._run_steps(branch, call.scope)
        except StopRun as stop:
            stop.routed[call.key] = output
            raise
        return output

    async def _set_step(self, call: StepCall) -> Any:
        step: SetStep = call.step
        scope = call.scope
        values = self._render(step.values, scope, f"step {step.id!r} values")
        scope.vars.update(values)
        return values

    async def _respond_step(self, call: StepCall) -> Any:
        step: RespondStep = call.step
        scope = call.scope
        return self._respond(step, scope, f"step {step.id!r}")

    async def _stop_step(self, call: StepCall) -> Any:
        step: StopStep = call.step
        scope = call.scope
        message = self._render(step.message, scope, f"step {step.id!r} message") if step.message else None
        raise StopRun(step.status, message)
