"""Bodies of the execution endpoints: a run, its steps and timeline, what it is doing live, retries, resumes,
pauses, approvals and logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    computed_field,
    field_validator,
)

from api.schemas.base import ApiModel, RequestBody
from core.models import ExecutionStatus
from core.runs.timeline import branch_taken

LiveKind = Literal["running", "retrying", "rateLimited", "waiting"]


class LiveStep(ApiModel):
    """A step that has not ended and what it is doing (core.runs.live). Which fields are set depends on
    `kind` (and, for `waiting`, on `for`)."""

    step_id: str
    since: datetime | None = Field(default=None, description="When the step started")
    kind: LiveKind
    attempt: int | None = Field(default=None, description="retrying: the attempt that failed")
    max_attempts: int | None = Field(default=None, description="retrying: 0 means no limit")
    last_error: str | None = Field(default=None, description="retrying: the failed attempt's error")
    next_attempt_at: datetime | None = Field(default=None, description="retrying: when Temporal tries again")
    resumes_at: datetime | None = Field(default=None, description="rateLimited: when the window frees")
    for_: Literal["approval", "delay", "subworkflow", "pause", "fix", "event"] | None = Field(
        default=None,
        alias="for",
        description="waiting: what for (pause: paused before this step; fix: this step failed under "
        'onError "pause" and waits for an operator)',
    )
    paused_by: str | None = Field(default=None, description="paused: who asked (a user id)")
    reason: str | None = Field(default=None, description="paused: why, as they said")
    message: str | None = Field(default=None, description="waiting for an approval: its message")
    approvers: list[str] | None = Field(default=None, description="waiting for an approval: who may decide")
    expires_at: datetime | None = Field(
        default=None, description="waiting for an approval: its deadline; for an event: when it times out"
    )
    event: str | None = Field(default=None, description="waiting for an event: its name (a `wait` step)")
    default_decision: str | None = Field(default=None, description="waiting for an approval: at expiry")
    until: datetime | None = Field(default=None, description="waiting for a delay: its end")
    child_execution_id: str | None = Field(default=None, description="waiting for a subworkflow: its run")
    workflow_id: str | None = Field(default=None, description="waiting for a subworkflow: its workflow")
    tool: str | None = Field(default=None, description="an agent waiting for an approval: the tool to call")
    arguments: dict[str, Any] | None = Field(
        default=None, description="an agent waiting for an approval: the arguments proposed"
    )
    progress: dict[str, Any] | None = Field(
        default=None, description="running: how far it is ({done, total, message}; an agent: its turn)"
    )


class LiveSlot(ApiModel):
    """A PENDING run of a workflow with a concurrency limit, waiting for a slot."""

    key: str = Field(description="The queue's key (the rendered `concurrency.key`; empty without one)")
    limit: int = Field(description="Runs of this key past their start at once")
    place: int = Field(description="Its place in the queue: 1 starts next")


class Live(ApiModel):
    """What a run that has not ended is doing, beside its `status` (null once it has ended)."""

    state: Literal["pending", "running", "retrying", "rateLimited", "waiting"] = Field(
        description="The most telling of its steps' kinds: waiting, retrying, rateLimited, running "
        "(waiting too for a run that waits for a concurrency slot)"
    )
    steps: list[LiveStep] = Field(default_factory=list)
    slot: LiveSlot | None = Field(default=None, description="Waiting for a concurrency slot: its place")


class StepExecutionOut(ApiModel):
    id: str
    step_id: str
    step_type: str
    status: ExecutionStatus
    input: Any
    output: Any
    error: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration: int | None
    retry_count: int
    state: LiveStep | None = Field(default=None, description="While the step has not ended: what it does")
    step_key: str | None = Field(default=None, description="The step id and its loop item path (`send/2`)")
    sequence: int | None = Field(
        default=None, description="The order steps begun at the same startedAt began in (1 first)"
    )

    @computed_field(description="retryCount + 1")  # type: ignore[prop-decorator]
    @property
    def attempts(self) -> int:
        return self.retry_count + 1

    @computed_field(  # type: ignore[prop-decorator]
        description="A condition's or switch's: then, else, cases.<value>, default"
    )
    @property
    def branch_taken(self) -> str | None:
        return branch_taken(self.step_type, self.output)

    @field_validator("state", mode="before")
    @classmethod
    def _state_of_the_row(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict) and "stepId" not in value:
            return {"stepId": (info.data or {}).get("step_id", ""), **value}
        return value


class ExecutionOut(ApiModel):
    id: str
    workflow_id: str
    status: ExecutionStatus
    trigger_data: Any
    context: dict[str, Any]
    result: Any
    error: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration: int | None
    retry_count: int
    max_retries: int
    created_at: datetime
    live: Live | None = Field(default=None, description="What the run is doing while it has not ended")
    temporal_ui_url: str = Field(description="This run in the Temporal Web UI")

    @computed_field(description="The same as `id` (what API.md's run answer names)")  # type: ignore[prop-decorator]
    @property
    def execution_id(self) -> str:
        return self.id


class TimelineItem(ApiModel):
    """One step as it ran (a loop's steps once per item), placed in the definition."""

    step_id: str
    key: str = Field(description="The step id and its loop item path: `send/2` is the third item's")
    iteration: list[int] = Field(description="The loop item indexes, outermost first ([] outside loops)")
    sequence: int | None = Field(
        default=None, description="The order steps begun at the same startedAt began in (1 first)"
    )
    name: str = Field(description="The step's name, or its id")
    step_type: str
    parent_step_id: str | None = Field(description="The step it is nested in (null at the top)")
    branch: str | None = Field(description="Where in its parent: then, else, cases.<value>, default, steps, "
                               "branches[<n>], onError")  # fmt: skip
    depth: int
    status: ExecutionStatus
    branch_taken: str | None = Field(
        description="A condition's or switch's: then, else, cases.<value>, default"
    )
    attempts: int
    started_at: datetime | None
    completed_at: datetime | None
    duration: int | None
    error: str | None
    state: dict[str, Any] | None = Field(description="While it has not ended: what it does (see `live`)")


class Timeline(ApiModel):
    execution_id: str
    status: ExecutionStatus
    live: Live | None
    items: list[TimelineItem]


class ExecutionDetail(ExecutionOut):
    step_executions: list[StepExecutionOut]


class ResumeBody(RequestBody):
    latest_version: bool = Field(default=False, description="Run the workflow's latest published version")
    from_step: str | None = Field(
        default=None,
        description="Start at this step (it and every step after it in the definition run again) instead "
        "of at the one that failed",
        examples=["charge"],
    )
    trigger_data: Any = Field(
        default=None,
        description="Run with this trigger instead of the failed run's (left out: the same)",
    )
    step_outputs: dict[str, Any] | None = Field(
        default=None,
        description="Outputs to use for steps before the one it starts at, by step id, instead of what they "
        "gave (a fix for a step that got it wrong)",
        examples=[{"lookup": {"customerId": "c-42"}}],
    )


ReplayableStatus = Literal["FAILED", "TIMEOUT", "CANCELLED"]
DEFAULT_REPLAYED: tuple[ReplayableStatus, ...] = ("FAILED", "TIMEOUT")


class BulkReplayBody(RequestBody):
    """Which runs to retry or resume: those of the workspace that match every field given."""

    workflow_id: str | None = Field(default=None, description="Runs of this workflow only")
    status: list[ReplayableStatus] = Field(
        default_factory=lambda: list(DEFAULT_REPLAYED), min_length=1, description="Runs that ended so"
    )
    since: datetime | None = Field(default=None, description="Runs created at or after this time")
    until: datetime | None = Field(default=None, description="Runs created before this time")
    error_contains: str | None = Field(
        default=None, max_length=500, description="Runs whose error has this text (case-insensitive)"
    )
    limit: int = Field(default=100, ge=1, le=1000, description="At most this many runs, oldest first")
    dry_run: bool = Field(default=False, description="Count what matches and start nothing")
    latest_version: bool = Field(
        default=False, description="resume: run the workflow's latest published version"
    )


class BulkReplayOut(ApiModel):
    """A bulk retry or resume: what it matched and how far it got (`GET .../executions/batches/{id}`)."""

    batch_id: str | None = Field(description="The batch (null for a dry run)")
    action: Literal["retry", "resume"]
    status: Literal["DRY_RUN", "RUNNING", "COMPLETED"]
    matched: int | None = Field(default=None, description="Runs that match the filter (when asked)")
    total: int = Field(description="Runs the batch replays: the matches, at most `limit`")
    done: int = 0
    started: int = 0
    skipped: int = 0
    outcomes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per run (the first 200): `executionId`, the run `started` for it, or why it was "
        "`skipped` (its retries used up, its workflow unpublished...)",
    )
    execution_ids: list[str] | None = Field(
        default=None, description="A dry run: the first 50 it would replay"
    )


class PauseBody(RequestBody):
    reason: str | None = Field(default=None, max_length=500, examples=["the CRM is being migrated"])


class UnpauseBody(RequestBody):
    step_input: dict[str, Any] | None = Field(
        default=None,
        description='A step parked by onError "pause": try it again with this input instead of its own',
        examples=[{"url": "https://crm.example.com/v2/contacts"}],
    )
    give_up: bool = Field(
        default=False, description='A step parked by onError "pause": fail it (and the run, as "fail" would)'
    )
    latest_version: bool = Field(
        default=False,
        description='A step parked by onError "pause": go on from it on the workflow\'s latest published '
        "version (publish the fix first), in the same execution, reusing what succeeded",
    )


class DecisionBody(RequestBody):
    approved: bool | None = Field(
        default=None, description="Approve or reject (may be left out when giving a `choice` or `values`)"
    )
    comment: str | None = Field(default=None, max_length=2000)
    choice: str | None = Field(
        default=None, max_length=100, description="A step with `choices`: the one chosen", examples=["refund"]
    )
    values: dict[str, Any] | None = Field(
        default=None,
        description="A step with `fields`: the values asked for (checked as a hosted form checks them)",
        examples=[{"amount": 20, "reason": "Damaged in transit"}],
    )
    arguments: dict[str, Any] | None = Field(
        default=None,
        description="An agent's tool call: approve it with these arguments instead of the model's (its "
        "waiting state shows them as `arguments`)",
        examples=[{"orderId": "A-1001", "amount": 20}],
    )


class ApprovalOut(ApiModel):
    """An approval step of a run: pending (the run waits on it) or decided."""

    execution_id: str
    step_id: str
    workflow_id: str
    workflow_name: str
    status: Literal["pending", "decided"]
    message: str | None = Field(description="What the approver is asked")
    approvers: list[str] = Field(description="User ids allowed to decide (any member when empty)")
    requested_at: datetime | None = Field(description="When the run began to wait")
    expires_at: datetime | None = Field(description="When `defaultDecision` applies (null: never)")
    default_decision: str | None = Field(description="approve or reject, at expiry")
    decision: dict[str, Any] | None = Field(description="decided: {approved, by, comment}")
    decided_at: datetime | None
    can_decide: bool = Field(description="Whether the caller may decide it now")
    decide_url: str = Field(description="POST {approved, comment} here to decide")
    tool: str | None = Field(default=None, description="An agent's tool call: the tool it waits to call")
    arguments: dict[str, Any] | None = Field(
        default=None, description="An agent's tool call: the arguments proposed (a decision may edit them)"
    )
    call: int | None = Field(
        default=None, description="An agent's tool call: its number in the step (`toolCalls[].call`)"
    )
    choices: list[str] | None = Field(default=None, description="Asks for one of these (`choice`)")
    fields: list[dict[str, Any]] | None = Field(
        default=None, description="Asks for values (`values`), as a hosted form's fields"
    )


class LogEntryOut(ApiModel):
    id: str
    execution_id: str
    workflow_id: str | None
    timestamp: datetime
    level: Literal["info", "warn", "error"]
    message: str
    step_id: str | None
    metadata: dict[str, Any] | None
