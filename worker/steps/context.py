"""The surface a step's handler works with, and the registry of handlers.

A handler is `async def handle(ctx: StepContext, step: XStep) -> output`, registered where it is written
with `@step_handler(XStep)`. The run implements the context (worker.run_step.RunStep); handlers reach the
run only through it, so the interpreter does not change per step type: a new step type is its model
(core.definition.steps, or a plug-in's module) and its handler (a module here, or a plug-in's).

Handlers are workflow code: deterministic (time and ids from `temporalio.workflow`, I/O only through
activities), and what they issue (activities, timers, child workflows) and in which order is part of what
recorded histories replay (tests/worker/test_replay.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from typing import Any, Protocol, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.contract import RunInput, StepRecord
    from core.definition.steps import (
        STEP_MODELS,
        STEP_TYPES_ENTRY_POINTS,
        ActionStep,
        RespondStep,
        StepBase,
        step_type,
    )
    from core.runs.waits import Event, Wait
    from worker.event_waits import EventWaiting
    from worker.run_scope import Scope


class StepContext(Protocol):
    """What a handler may do with the run, for the one step it handles."""

    @property
    def step(self) -> Any:
        """The step (its model)."""

    @property
    def scope(self) -> Scope:
        """What the step sees: earlier steps' outputs, the run's variables, its loop item."""

    @property
    def key(self) -> str:
        """The step's record key: its id, and its loop iteration (`each/2`)."""

    @property
    def started(self) -> str:
        """When the step (this attempt of it) began, ISO 8601."""

    @property
    def input(self) -> RunInput:
        """The run's input (its execution id, depth, trigger data...), not to be changed."""

    def render(self, value: Any, field: str, scope: Scope | None = None) -> Any:
        """Renders the `{{ }}` expressions in one of the step's fields (`field` names it in errors), in
        `scope` when given (else the step's)."""

    def evaluate(self, value: Any, field: str) -> Any:
        """`render` for a field that is an expression when it is a string (else its value as is)."""

    async def run_steps(self, steps: list[Any], scope: Scope | None = None) -> Any:
        """Runs nested steps in order (in `scope`, else the step's), each with its record and error
        policy; the output of the last one."""

    def waits(self, wait: Wait) -> None:
        """The step begins to wait (core.runs.waits): its row, `live`, the state query and the Web UI's
        current details say what for. `waited` when it is over."""

    def waited(self, wait: Wait) -> None:
        """The step's wait is over."""

    async def delivered(self, timeout: float | None) -> Any:
        """What the run's `deliver` update handed the waiting step (an approval's Decision); TimeoutError
        when nothing came within `timeout` seconds."""

    def expects(self, name: str, matches: Callable[[Event], bool]) -> EventWaiting:
        """The step waits for an event named `name` that `matches` accepts (worker.event_waits): the run's
        `deliver` update sets the returned waiting's `event`. `expected` when the wait is over."""

    def expected(self, waiting: EventWaiting) -> None:
        """The step waits for its event no more."""

    async def flush(self) -> None:
        """Writes the rows buffered so far (before a long wait, so they show)."""

    async def call_action(
        self, step: ActionStep, key: str | None = None, data: dict[str, Any] | None = None
    ) -> Any:
        """Runs an action step's activity: its rendered input, retries, rate limits, its own row. `key`: a
        call of its own within the step (`chat/turn-2`: its own row, idempotency key and sequence);
        `data`: the input as is, not rendered (what a model wrote is never read as expressions)."""

    def note(self, record: StepRecord) -> None:
        """Buffers a row (the step's own, or one of its calls'), written with the next write."""

    def respond(self, step: RespondStep) -> dict[str, Any]:
        """Makes the run's reply to a sync webhook from a respond step."""

    def show(self, now: str) -> None:
        """What the run is doing, in the Temporal Web UI's current details."""

    def patched(self, patch_id: str) -> bool:
        """`workflow.patched`, with the patches folded into the run's engine taken without a marker."""


Handler = Callable[[StepContext, Any], Awaitable[Any]]
S = TypeVar("S", bound=StepBase)
# Each step model's handler (built-in ones register as worker.steps' modules are imported).
HANDLERS: dict[type[StepBase], Handler] = {}
STEP_HANDLERS_ENTRY_POINTS = "baton.step_handlers"


def step_handler(
    model: type[S],
) -> Callable[[Callable[[StepContext, S], Awaitable[Any]]], Callable[[StepContext, S], Awaitable[Any]]]:
    """Registers the decorated function as the handler of the step type `model`."""

    def register(
        handler: Callable[[StepContext, S], Awaitable[Any]],
    ) -> Callable[[StepContext, S], Awaitable[Any]]:
        known = HANDLERS.get(model)
        if known is not None and known is not handler:
            raise TypeError(f"step type {step_type(model)!r} has two handlers: {known} and {handler}")
        HANDLERS[model] = handler
        return handler

    return register


def legacy_handler(handler: Callable[[Any, Any], Awaitable[Any]]) -> Handler:
    """A plug-in handler written before the context, `async def handler(run, call)` (call: the step's
    worker.run_state.StepCall; run.render(call, value, field)), called as it expects."""

    async def handle(ctx: StepContext, _step: Any) -> Any:
        return await handler(ctx.run, ctx.call)  # type: ignore[attr-defined]

    return handle


def load_plugin_handlers() -> None:
    """Registers the handlers of plug-in step types: each entry point of `baton.step_handlers` is named
    after its step type and points at its handler (registered with `@step_handler` as its module is
    imported, or an `async def handler(run, call)` of before). Every step type must have a handler."""
    models = {step_type(model): model for model in STEP_MODELS}
    for entry_point in entry_points(group=STEP_HANDLERS_ENTRY_POINTS):
        model = models.get(entry_point.name)
        if model is None:
            raise TypeError(
                f"{STEP_HANDLERS_ENTRY_POINTS} entry point {entry_point.name!r} names no step type: add its "
                f"model to the {STEP_TYPES_ENTRY_POINTS} entry points (known: {', '.join(sorted(models))})"
            )
        loaded = entry_point.load()
        if model not in HANDLERS:
            HANDLERS[model] = legacy_handler(loaded)
    if unhandled := sorted(step_type(model) for model in STEP_MODELS if model not in HANDLERS):
        raise TypeError(
            f"step types without a handler: {', '.join(unhandled)} (add an entry point named after each to "
            f"{STEP_HANDLERS_ENTRY_POINTS}; docs/contributing.md)"
        )
