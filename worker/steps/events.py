"""The `wait` step: waits for an event (core.runs.events delivers them), or for its timeout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.definition.steps import WaitStep
    from core.runs.waits import Event, EventWait
    from worker.run_scope import Scope, StepFailed
    from worker.steps.context import StepContext, step_handler


@dataclass
class EventScope(Scope):
    """The step's scope with `event` in it, for its `match`."""

    event: Any = None

    def expression_data(self, trigger: Any, execution: dict[str, Any]) -> dict[str, Any]:
        return {**super().expression_data(trigger, execution), "event": self.event}


@step_handler(WaitStep)
async def wait_for_event(ctx: StepContext, step: WaitStep) -> Any:
    scope = ctx.scope

    def matches(event: Event) -> bool:
        if step.match is None:
            return True
        seen = EventScope(scope.steps, scope.vars, scope.item, scope.index, scope.iteration, event.output())
        return bool(ctx.render(step.match, "match", seen))

    expires = (
        (workflow.now() + timedelta(seconds=step.timeout_seconds)).isoformat()
        if step.timeout_seconds
        else None
    )
    wait = EventWait(event=step.event, expires_at=expires)
    waiting = ctx.expects(step.event, matches)
    ctx.waits(wait)
    await ctx.flush()
    try:
        await workflow.wait_condition(lambda: waiting.event is not None, timeout=step.timeout_seconds)
    except TimeoutError:
        pass
    finally:
        ctx.waited(wait)
        ctx.expected(waiting)
    if waiting.event is not None:
        return {**waiting.event.output(), "timedOut": False}
    if step.on_timeout == "fail":
        raise StepFailed(
            step.id,
            f"step {step.id!r}: no event {step.event!r} came within {step.timeout_seconds:g} s",
            "WaitTimedOut",
        )
    return {"id": None, "name": step.event, "data": None, "receivedAt": None, "timedOut": True}
