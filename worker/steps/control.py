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
    from worker.steps.context import StepContext, step_handler


@step_handler(ConditionStep)
async def condition(ctx: StepContext, step: ConditionStep) -> Any:
    result = bool(ctx.evaluate(step.if_, "if"))
    return await route(ctx, step.then if result else step.else_, {"result": result})


@step_handler(SwitchStep)
async def switch(ctx: StepContext, step: SwitchStep) -> Any:
    value = ctx.evaluate(step.value, "value")
    matched = str(value).lower() if isinstance(value, bool) else str(value)
    if matched in step.cases:
        return await route(ctx, step.cases[matched], {"matched": matched})
    return await route(ctx, step.default, {"matched": None})


async def route(ctx: StepContext, branch: list[Any], output: dict[str, Any]) -> Any:
    """Runs the branch a condition or switch took; its output says which, also when the branch ends the
    run with a `stop`."""
    try:
        await ctx.run_steps(branch)
    except StopRun as stop:
        stop.routed[ctx.key] = output
        raise
    return output


@step_handler(SetStep)
async def set_values(ctx: StepContext, step: SetStep) -> Any:
    values = ctx.render(step.values, "values")
    ctx.scope.vars.update(values)
    return values


@step_handler(RespondStep)
async def respond(ctx: StepContext, step: RespondStep) -> Any:
    return ctx.respond(step)


@step_handler(StopStep)
async def stop(ctx: StepContext, step: StopStep) -> Any:
    message = ctx.render(step.message, "message") if step.message else None
    raise StopRun(step.status, message)
