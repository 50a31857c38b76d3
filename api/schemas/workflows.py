"""Bodies of the workflow, version, run and execution endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    field_validator,
)

from api.schemas.base import ApiModel, RequestBody
from core.definition.triggers import Concurrency
from core.models import ExecutionStatus, TriggerType
from core.runs.timeline import branch_taken

# A stable name for a workflow in its workspace (workflows.key, unique when set).
WorkflowKey = Annotated[
    str | None,
    Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$",
        description="A stable name for the workflow in its workspace, unique (`baton workflows push` finds "
        "it by this: the same key in staging and production)",
        examples=["greet-new-signups"],
    ),
]


ErrorWorkflowId = Annotated[
    str | None,
    Field(
        description="A workflow of this workspace started when a run of this one ends FAILED or TIMEOUT, "
        "with the failure's summary as its trigger (unset: the workspace's errorWorkflowId)"
    ),
]


ConcurrencyField = Annotated[
    Concurrency | None,
    Field(
        description="At most `limit` runs (per `key`, an expression over the trigger) past their start at "
        "once; the others wait in arrival order (their `live.slot` gives their place). Applies to the runs "
        "that start after a change; null: no limit",
        examples=[{"limit": 1, "key": "{{ trigger.body.customerId }}"}],
    ),
]


PriorityField = Annotated[
    int | None,
    Field(
        ge=1,
        le=5,
        description="Its runs' priority in Temporal's task queue: 1 first to 5 last (unset: 3). Within one "
        "priority, workspaces take turns (fairness), so one workspace's burst does not hold the others up",
        examples=[2],
    ),
]


class WorkflowCreate(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    trigger_type: TriggerType
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    steps: list[Any] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=50)
    folder: str | None = Field(default=None, max_length=200)
    connection_id: str | None = None
    key: WorkflowKey = None
    error_workflow_id: ErrorWorkflowId = None
    concurrency: ConcurrencyField = None
    priority: PriorityField = None


class WorkflowUpdate(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    trigger_type: TriggerType | None = None
    trigger_config: dict[str, Any] | None = None
    steps: list[Any] | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    folder: str | None = Field(default=None, max_length=200)
    connection_id: str | None = None
    key: WorkflowKey = None
    error_workflow_id: ErrorWorkflowId = None
    concurrency: ConcurrencyField = None
    priority: PriorityField = None

    @field_validator("name", "trigger_type", "trigger_config", "steps", "tags", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Left out keeps the current value; `null` would erase what a workflow must have."""
        if value is None:
            raise ValueError("may not be null (leave the field out to keep its current value)")
        return value


class WorkflowOut(ApiModel):
    id: str
    workspace_id: str
    user_id: str
    name: str
    description: str | None
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    connection_id: str | None
    steps: list[Any]
    is_active: bool
    is_draft: bool
    version: int
    tags: list[str]
    folder: str | None
    key: str | None = None
    error_workflow_id: str | None = None
    concurrency: Concurrency | None = None
    priority: int | None = None
    total_executions: int
    successful_executions: int
    failed_executions: int
    last_executed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class PublishBody(RequestBody):
    change_description: str | None = Field(default=None, max_length=2000)


class VersionOut(ApiModel):
    id: str
    workflow_id: str
    version: int
    name: str
    description: str | None
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    steps: list[Any]
    change_description: str | None
    created_at: datetime
    created_by: str


class RunBody(RequestBody):
    payload: Any = Field(default_factory=dict, description="What the steps read as `trigger`")


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
    for_: Literal["approval", "delay", "subworkflow", "pause", "fix"] | None = Field(
        default=None,
        alias="for",
        description="waiting: what for (pause: paused before this step; fix: this step failed under "
        'onError "pause" and waits for an operator)',
    )
    paused_by: str | None = Field(default=None, description="paused: who asked (a user id)")
    reason: str | None = Field(default=None, description="paused: why, as they said")
    message: str | None = Field(default=None, description="waiting for an approval: its message")
    approvers: list[str] | None = Field(default=None, description="waiting for an approval: who may decide")
    expires_at: datetime | None = Field(default=None, description="waiting for an approval: its deadline")
    default_decision: str | None = Field(default=None, description="waiting for an approval: at expiry")
    until: datetime | None = Field(default=None, description="waiting for a delay: its end")
    child_execution_id: str | None = Field(default=None, description="waiting for a subworkflow: its run")
    workflow_id: str | None = Field(default=None, description="waiting for a subworkflow: its workflow")


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
    approved: bool
    comment: str | None = Field(default=None, max_length=2000)


class WorkflowExport(ApiModel):
    """A workflow as a portable document (what export gives and import takes)."""

    baton_export: int = Field(default=1, description="Format version")
    name: str
    description: str | None = None
    trigger_type: TriggerType
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    steps: list[Any] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    folder: str | None = None
    connection_id: str | None = None


class WorkflowDocument(WorkflowExport):
    """An exported document as import takes it: only the fields an export has (the export itself is built
    from the workflow's row, which holds more, hence two models)."""

    model_config = ConfigDict(extra="forbid")


class WorkflowImport(RequestBody):
    workflow: WorkflowDocument
    connection_map: dict[str, str] = Field(
        default_factory=dict, description="Connection ids of the exporting workspace -> ids in this one"
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


class LogEntryOut(ApiModel):
    id: str
    execution_id: str
    workflow_id: str | None
    timestamp: datetime
    level: Literal["info", "warn", "error"]
    message: str
    step_id: str | None
    metadata: dict[str, Any] | None


class BackfillBody(RequestBody):
    from_: datetime = Field(
        alias="from", description="The first slot's earliest time (ISO-8601; UTC if no offset)"
    )
    to: datetime = Field(description="The end of the range, not included; in the past")
    overlap: Literal["skip", "buffer_one", "buffer_all", "allow_all"] | None = Field(
        default=None,
        description="For slots that would overlap a run still going (default: the schedule's `overlap`); "
        "buffer_all runs every slot, one after the other",
    )


class BackfillAccepted(ApiModel):
    workflow_id: str
    from_: datetime = Field(alias="from")
    to: datetime
    overlap: str | None
    detail: str


class ScheduledRun(ApiModel):
    scheduled_at: datetime
    started_at: datetime
    execution_id: str | None = Field(description="The run the slot started (GET .../executions/{id})")


class ScheduleOut(ApiModel):
    schedule_id: str = Field(description="The Temporal Schedule (`schedule-{workflowId}`)")
    paused: bool = Field(description="Paused while the workflow is inactive")
    note: str | None
    next_run_times: list[datetime] = Field(description="The next slots, soonest first")
    recent_runs: list[ScheduledRun] = Field(description="The latest slots started, oldest first")
    runs_total: int = Field(description="Slots started since the schedule was made")
    missed_catchup_window: int = Field(description="Slots missed for good (older than catchupWindowSeconds)")
    skipped_overlap: int = Field(description="Slots skipped because a run was still going (overlap: skip)")
    running_execution_ids: list[str]
