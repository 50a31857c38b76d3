"""What a running workflow knows at a point of its execution: step outputs, vars, the loop item; and the
exceptions that carry a step's failure or a `stop` step up the tree. Pure code, safe inside workflows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    TemporalError,
)

from core.expressions import ExpressionError


class StepFailed(Exception):
    """A step failed and its `onError` is "fail": the failure travels up until an ancestor handles it."""

    def __init__(
        self, step_id: str, message: str, error_type: str, attempts: int = 1, failed_at: str | None = None
    ) -> None:
        super().__init__(message)
        self.step_id = step_id
        self.message = message
        self.error_type = error_type
        # an action's attempts and when the last one failed, as its activity said (activities.actions)
        self.attempts = attempts
        self.failed_at = failed_at

    def as_output(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type, "stepId": self.step_id}}


class SwitchToLatest(Exception):  # noqa: N818 (not an error: the run goes on, on another version)
    """An operator unpaused a step parked by onError "pause" onto the workflow's latest published version:
    the run continues as new on it (same execution), reusing what succeeded, from that step."""

    def __init__(self, step_id: str, outputs: dict[str, Any], variables: dict[str, Any]) -> None:
        super().__init__(step_id)
        self.step_id, self.outputs, self.variables = step_id, outputs, variables


class StopRun(Exception):
    """A `stop` step ends the run with its status."""

    def __init__(self, status: str, message: str | None) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message
        # The outputs of the conditions and switches it passed through on its way up, by record key: each is
        # recorded with the branch it took, not with the stop's output.
        self.routed: dict[str, Any] = {}

    def as_output(self) -> dict[str, Any]:
        """The stop step's output (its row's)."""
        return {"status": self.status, "message": self.message}


# A bad value a step computes (a number where a list was needed, a date that does not parse, an overflow)
# fails that step, as its onError says, instead of failing the workflow task for ever.
BAD_VALUES = (ValueError, TypeError, ArithmeticError, LookupError, RecursionError)
STEP_ERRORS = (StepFailed, ExpressionError, FailureError, TimeoutError, *BAD_VALUES)


def is_step_error(error: BaseException) -> bool:
    """Whether an exception out of a step is that step's failure. Any exception is (a workflow task failed
    by it would retry for ever, repeating the local activities before it), except the ones that carry the
    run on (`stop`, a switch of version) and Temporal's own (non-determinism, a sandbox refusal: a bug in
    Baton that a retry on a fixed worker must meet again, not a step's fault)."""
    if isinstance(error, STEP_ERRORS):
        return True
    return isinstance(error, Exception) and not isinstance(error, StopRun | SwitchToLatest | TemporalError)


def describe_failure(step_id: str, error: BaseException) -> StepFailed:
    """Turns whatever a step raised into a StepFailed with the root cause's message and type."""
    if isinstance(error, StepFailed):
        return error
    if isinstance(error, ExpressionError):
        return StepFailed(step_id, str(error), "ExpressionError")
    if isinstance(error, TimeoutError):
        return StepFailed(step_id, f"step {step_id!r} timed out", "StepTimeout")
    if isinstance(error, BAD_VALUES):
        return StepFailed(step_id, f"step {step_id!r}: {type(error).__name__}: {error}", "InvalidValue")
    cause: BaseException = error
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        figures = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        attempt = figures.get("attempt")
        return StepFailed(
            step_id,
            cause.message,
            cause.type or "ApplicationError",
            attempt if isinstance(attempt, int) and attempt > 0 else 1,
            figures.get("failedAt") if isinstance(figures.get("failedAt"), str) else None,
        )
    if isinstance(cause, FailureError):
        return StepFailed(step_id, cause.message or type(cause).__name__, type(cause).__name__)
    return StepFailed(step_id, f"step {step_id!r}: {type(cause).__name__}: {cause}", type(cause).__name__)


@dataclass
class Scope:
    """Outputs are kept as `{"output": value}` so `steps.<id>.output` reads without rebuilding dicts."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    item: Any = None
    index: int | None = None
    iteration: str = ""

    def set_output(self, step_id: str, output: Any) -> None:
        self.steps[step_id] = {"output": output}

    def output(self, step_id: str) -> Any:
        entry = self.steps.get(step_id)
        return entry["output"] if entry else None

    def for_item(self, item: Any, index: int) -> Scope:
        return Scope(dict(self.steps), dict(self.vars), item, index, f"{self.iteration}/{index}")

    def for_branch(self) -> Scope:
        return Scope(dict(self.steps), dict(self.vars), self.item, self.index, self.iteration)

    def merge(self, other: Scope) -> None:
        self.steps.update(other.steps)
        self.vars.update(other.vars)

    def expression_data(self, trigger: Any, execution: dict[str, Any]) -> dict[str, Any]:
        data = {"trigger": trigger, "steps": self.steps, "vars": self.vars, "execution": execution}
        if self.index is not None:
            data["item"] = self.item
            data["index"] = self.index
        return data

    def outputs(self) -> dict[str, Any]:
        return {step_id: entry["output"] for step_id, entry in self.steps.items()}
