"""Action steps: the action's activity, through the run (StepContext.call_action); `webhook.respond`, the
catalogue's spelling of a respond step, answers here."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.contract import WEBHOOK_RESPOND_ACTION
    from core.definition.steps import ActionStep, RespondStep
    from worker.run_actions import ROWS_AT_ATTEMPT_PATCH
    from worker.run_scope import StepFailed
    from worker.steps.context import StepContext, step_handler

__all__ = ["ROWS_AT_ATTEMPT_PATCH", "action"]


@step_handler(ActionStep)
async def action(ctx: StepContext, step: ActionStep) -> Any:
    if step.action == WEBHOOK_RESPOND_ACTION:
        # The catalogue's spelling of a respond step: the reply is the run's, not an activity's.
        if not isinstance(step.input, dict):
            raise StepFailed(step.id, "webhook.respond needs an input object", "InvalidInput")
        return ctx.respond(RespondStep.model_validate({"id": step.id, "type": "respond", **step.input}))
    return await ctx.call_action(step)
