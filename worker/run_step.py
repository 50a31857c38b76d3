"""`RunStep`: the run as one step's handler sees it (worker.steps.context.StepContext), for one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.contract import Decision, RunInput, StepRecord
    from core.definition.steps import ActionStep, RespondStep
    from core.runs.waits import Event, Wait
    from worker.event_waits import EventWaiting, events_waited
    from worker.run_scope import Scope
    from worker.run_state import StepCall

if TYPE_CHECKING:
    from worker.run_actions import ActionCalls


class RunStep:
    """Implements StepContext over the run (`run`) for one step's call (`call`: the step, its scope, its
    record key, when it began). `run` and `call` are what handlers of before the context were given."""

    def __init__(self, run: ActionCalls, call: StepCall) -> None:
        self.run = run
        self.call = call

    @property
    def step(self) -> Any:
        return self.call.step

    @property
    def scope(self) -> Scope:
        return self.call.scope

    @property
    def key(self) -> str:
        return self.call.key

    @property
    def started(self) -> str:
        return self.call.started

    @property
    def input(self) -> RunInput:
        assert self.run._input is not None
        return self.run._input

    def render(self, value: Any, field: str, scope: Scope | None = None) -> Any:
        if scope is not None:
            return self.run._render(value, scope, f"step {self.step.id!r} {field}")
        return self.run.render(self.call, value, field)

    def evaluate(self, value: Any, field: str) -> Any:
        return self.run._evaluate(value, self.scope, f"step {self.step.id!r} {field}")

    async def run_steps(self, steps: list[Any], scope: Scope | None = None) -> Any:
        return await self.run._run_steps(steps, scope or self.scope)

    def waits(self, wait: Wait) -> None:
        if wait.takes is not None:  # what was delivered to an earlier wait of the step is not for this one
            self.run._decisions.pop(self.step.id, None)
        self.run._waits(self.call, wait)

    def waited(self, wait: Wait) -> None:
        self.run._waited(self.step.id, wait)

    async def delivered(self, timeout: float | None) -> Decision:
        step_id = self.step.id
        await workflow.wait_condition(lambda: step_id in self.run._decisions, timeout=timeout)
        return self.run._decisions[step_id]

    def expects(self, name: str, matches: Callable[[Event], bool]) -> EventWaiting:
        waiting = EventWaiting(self.step.id, name, matches)
        events_waited(self.run)[self.step.id] = waiting
        return waiting

    def expected(self, waiting: EventWaiting) -> None:
        waits = events_waited(self.run)
        if waits.get(waiting.step_id) is waiting:
            del waits[waiting.step_id]

    async def flush(self) -> None:
        await self.run._flush()

    async def call_action(
        self, step: ActionStep, key: str | None = None, data: dict[str, Any] | None = None
    ) -> Any:
        if key is None or key == self.key:
            return await self.run.call_action(step, self.scope, self.key, self.started, data)
        sequences = self.run._sequences
        sequences.setdefault(key, len(sequences) + 1)
        return await self.run.call_action(step, self.scope, key, workflow.now().isoformat(), data)

    def note(self, record: StepRecord) -> None:
        if record.key != self.key:  # a call of the step's own takes its place in the run's order
            sequences = self.run._sequences
            sequences.setdefault(record.key, len(sequences) + 1)
        self.run._buffer(record)

    def respond(self, step: RespondStep) -> dict[str, Any]:
        return self.run._respond(step, self.scope, f"step {step.id!r}")

    def show(self, now: str) -> None:
        self.run._show(now)

    def patched(self, patch_id: str) -> bool:
        return self.run.patched(patch_id)
