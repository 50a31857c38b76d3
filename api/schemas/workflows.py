"""Bodies of the workflow endpoints: workflows, their versions, runs started, export and import, backfills
and schedules (the executions' are in api/schemas/executions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
)

from api.schemas.base import ApiModel, RequestBody
from core.definition.triggers import Concurrency
from core.models import TriggerType

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

STRICT_EXPRESSIONS = (
    "An expression that reads a missing path fails its step naming the path (`trigger.nope is undefined`) "
    "instead of giving null; `| default(x)` and `is defined` still handle a path that may be absent. Off: "
    "only `url` fields are strict. Applies to the runs that start after the change (not versioned)."
)


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
    strict_expressions: bool = Field(default=False, description=STRICT_EXPRESSIONS)


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
    strict_expressions: bool | None = Field(default=None, description=STRICT_EXPRESSIONS)

    @field_validator(
        "name", "trigger_type", "trigger_config", "steps", "tags", "strict_expressions", mode="before"
    )
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
    strict_expressions: bool = False
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


class PinnedFrom(RequestBody):
    execution_id: str = Field(min_length=1, description="An earlier run of this workflow")
    steps: list[str] | None = Field(
        default=None, description="The steps whose outputs to pin (default: every step that succeeded)"
    )


class RunBody(RequestBody):
    payload: Any = Field(
        default_factory=dict,
        description="What the steps read as `trigger` (with `pinnedFrom` and no payload: that run's)",
    )
    pinned_outputs: dict[str, Any] | None = Field(
        default=None,
        description="Draft runs (`?draft=true`): step id -> the output it gives without being called",
    )
    pinned_from: PinnedFrom | None = Field(
        default=None, description="Draft runs: pin the outputs of the steps that succeeded in an earlier run"
    )


class StepTestContext(RequestBody):
    """What the tested step's expressions read (over those of `executionId` when given)."""

    trigger: Any = None
    steps: dict[str, Any] = Field(default_factory=dict, description="Other steps' outputs, by step id")
    vars: dict[str, Any] = Field(default_factory=dict)
    execution_id: str | None = Field(
        default=None, description="Take `trigger` and the steps' outputs from this earlier run"
    )


class StepTestBody(RequestBody):
    input: Any = Field(default=None, description="Replaces an action's or subworkflow's `input`")
    context: StepTestContext = Field(default_factory=StepTestContext)


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
