"""What a step of a run waits for, typed: one discriminated union (on `for`) that the interpreter builds,
its step rows keep as `state`, and `live`, the approvals inbox, the logs, the CLI and the Temporal Web UI's
current details read back, each wait with its own sentence.

The wire form is the row's `state` as the API returns it (core.runs.live):
`{"kind": "waiting", "for": "approval" | "delay" | "subworkflow" | "pause" | "fix" | "event", ...}`.

A new kind of wait (waiting for an event, for a form) is a model here, a member of `Wait`, and, when
something is handed to it, a field of `Delivery` (the interpreter's `deliver` update routes it to the step
that waits for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from temporalio.exceptions import ApplicationError

from core.contract import Decision
from core.forms import FormField, answer_problems

WAITING = "waiting"


class WaitBase(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    kind: Literal["waiting"] = "waiting"
    # What `Delivery` field this wait takes (None: nothing is handed to it; it ends by itself or by an
    # operator's unpause).
    takes: ClassVar[str | None] = None

    def state(self) -> dict[str, Any]:
        """The step row's `state` (camelCase, as the API returns it)."""
        return self.model_dump(by_alias=True, mode="json")

    def sentence(self, step: str) -> str:
        """What the step (`step`: its name, or `Step 'id'`) is doing, in a sentence."""
        raise NotImplementedError


class ApprovalWait(WaitBase):
    """An approval step waits for a person's decision (or its expiry, then its default decision)."""

    takes = "decision"
    for_: Literal["approval"] = Field(default="approval", alias="for")
    message: str | None = None
    approvers: list[str] = Field(default_factory=list)
    expires_at: str | None = None
    default_decision: str = "reject"
    # An agent step's tool call waiting for approval: the tool and the arguments the model proposed (a
    # decision may carry edited ones).
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    call: int | None = None  # the call's number in the step (its signed links name it)
    # A human step that asks for one of several choices, or for values (core.forms.FormField, as JSON).
    choices: list[str] | None = None
    fields: list[dict[str, Any]] | None = None

    def state(self) -> dict[str, Any]:
        state = super().state()
        # an approval step's state reads as it did
        for name in ("tool", "arguments", "call", "choices", "fields"):
            if state.get(name) is None:
                state.pop(name, None)
        return state

    def sentence(self, step: str) -> str:
        expires = f" (expires {self.expires_at}, then {self.default_decision})" if self.expires_at else ""
        return f"{step}: waiting for approval: {self.message or '(no message)'}{expires}"


class DelayWait(WaitBase):
    for_: Literal["delay"] = Field(default="delay", alias="for")
    until: str | None = None

    def sentence(self, step: str) -> str:
        return f"{step}: waiting until {self.until}"


class SubworkflowWait(WaitBase):
    for_: Literal["subworkflow"] = Field(default="subworkflow", alias="for")
    child_execution_id: str | None = None
    workflow_id: str | None = None

    def sentence(self, step: str) -> str:
        return f"{step}: waiting for its subworkflow run {self.child_execution_id}"


class PauseWait(WaitBase):
    """The run was paused (POST .../pause) and holds before this step until unpaused."""

    for_: Literal["pause"] = Field(default="pause", alias="for")
    paused_by: str | None = None
    reason: str | None = None

    def sentence(self, step: str) -> str:
        return f"paused before {step}" + (f": {self.reason}" if self.reason else "")


class ParkedWait(WaitBase):
    """The step failed under onError "pause": it waits for an operator to try it again or give up."""

    for_: Literal["fix"] = Field(default="fix", alias="for")
    last_error: str | None = None
    attempt: int | None = None

    def sentence(self, step: str) -> str:
        why = f" ({self.last_error[:200]})" if self.last_error else ""
        return f"{step} failed: waiting for an operator to unpause it (try again) or give up{why}"


class EventWait(WaitBase):
    """A `wait` step waits for an event of its name (POST .../events, or the run's resume URL) that its
    `match` accepts, or for its timeout."""

    takes = "event"
    for_: Literal["event"] = Field(default="event", alias="for")
    event: str = ""
    expires_at: str | None = None

    def sentence(self, step: str) -> str:
        expires = f" (until {self.expires_at})" if self.expires_at else ""
        return f"{step}: waiting for the event {self.event}{expires}"


Wait = Annotated[
    ApprovalWait | DelayWait | SubworkflowWait | PauseWait | ParkedWait | EventWait,
    Field(discriminator="for_"),
]
WAIT: TypeAdapter[Wait] = TypeAdapter(Wait)


def parse_wait(state: Any) -> Wait | None:
    """A row's (or a live step's) state as its wait; None when it does not wait (running, retrying, ...)
    or waits for something this version does not know."""
    if not isinstance(state, Mapping) or state.get("kind") != WAITING:
        return None
    try:
        return WAIT.validate_python(state)
    except ValidationError:
        return None


@dataclass
class Event:
    """Something that happened elsewhere, handed to the `wait` steps waiting for its name (core.runs.events):
    what such a step outputs."""

    id: str
    name: str
    data: Any = None
    received_at: str = ""
    # "api" (POST .../events) or "resume-url" (the run's own resume URL, which needs no match)
    via: str = "api"

    def output(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "data": self.data, "receivedAt": self.received_at}


@dataclass
class Delivery:
    """What is handed to a waiting step (the interpreter's `deliver` update): `step_id` names the step and
    exactly one of the other fields is set, the one its wait `takes` (a decision for an approval, an event
    for a `wait` step; a form's answers for the waits to come)."""

    step_id: str
    decision: Decision | None = None
    event: Event | None = None

    def given(self) -> list[str]:
        """The names of the fields given (exactly one is valid)."""
        return [name for name in ("decision", "event") if getattr(self, name) is not None]


def not_waiting(decision: Decision) -> ApplicationError:
    """The run's refusal of a decision for a step that does not wait for one (the API answers 409)."""
    return ApplicationError(f"step {decision.step_id!r} is not waiting for a decision", type="NotWaiting")


def check_answer(decision: Decision, wait: ApprovalWait) -> None:
    """Refuses an answer the step did not ask for: a choice outside its `choices`, values its `fields`
    refuse (core.forms.answer_problems); a decision for one tool call of an agent step (a signed link's)
    while another call waits, or none."""
    if decision.call is not None and decision.call != wait.call:
        raise ApplicationError(
            f"step {decision.step_id!r} is not waiting for a decision on call {decision.call}",
            type="NotWaiting",
        )
    fields = [FormField.model_validate(f) for f in wait.fields or []]
    problems = answer_problems(decision.approved, decision.choice, decision.values, wait.choices, fields)
    if problems:
        path, sentence = problems[0]
        raise ApplicationError(f"step {decision.step_id!r}: {path}: {sentence}", type="InvalidAnswer")


def check_approver(decision: Decision, approvers: list[str] | None) -> None:
    """Refuses a decision by someone the step does not list (any member decides a step listing none)."""
    if approvers and decision.by not in approvers:
        raise ApplicationError(
            f"{decision.by or 'an anonymous caller'} may not decide step {decision.step_id!r}",
            type="NotAnApprover",
        )
