"""Every step type of DEFINITION.md as pydantic models, a discriminated union on `type`.

Wire names are camelCase (`onError`, `timeoutSeconds`); `if`/`then`/`else` keep their names on the wire.
The JSON Schema served at `/definition-schema` is generated from these models.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, Field, model_validator

from core.definition.agent_tools import AgentMemory, AgentTool
from core.definition.base import ACTION_NAME_PATTERN, MAX_STEP_ID_LENGTH, STEP_ID_PATTERN, DefinitionModel
from core.definition.triggers import (
    Concurrency,
    ManualTriggerConfig,
    PollingTriggerConfig,
    ScheduleTriggerConfig,
    WebhookTriggerConfig,
)
from core.forms import FormField
from core.models.enums import TriggerType


def step_type(model: type[StepBase]) -> str:
    """A step model's wire name: the default of its `type` field."""
    return str(model.model_fields["type"].default)


class RetryPolicy(DefinitionModel):
    """How a failing step is retried (Temporal's retry policy, in seconds)."""

    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_interval_seconds: float = Field(default=1.0, gt=0, le=86400)
    backoff_coefficient: float = Field(default=2.0, ge=1, le=10)
    maximum_interval_seconds: float | None = Field(default=None, gt=0, le=86400)


class StepBase(DefinitionModel):
    id: str = Field(pattern=STEP_ID_PATTERN, max_length=MAX_STEP_ID_LENGTH, examples=["send_welcome"])
    name: str | None = Field(default=None, max_length=200, description="Display name (the Web UI summary)")
    retry: RetryPolicy | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=365 * 86400)
    on_error: Literal["fail", "continue", "pause"] | list[Step] = Field(
        default="fail",
        description='"fail" ends the run, "continue" records {"error": ...} as the output, "pause" parks the '
        "run for an operator (POST .../unpause tries the step again, with an edited input if given, or "
        "gives up: FAILED), a list of steps runs instead of the failed step",
    )

    # What a step type means beyond its fields, declared once on its model (the interpreter, validation
    # and the walkers read these instead of lists of type names):
    # its output may be the run's result (the last such output is, unless a respond step answered)
    can_be_result: ClassVar[bool] = False
    # it applies `timeoutSeconds` itself (an activity's or a child's timeout, an approval's wait)
    times_itself: ClassVar[bool] = False
    # its activity writes its own row and caps its own output (an action: in the transaction of its result)
    records_itself: ClassVar[bool] = False
    # the fields that hold nested steps (not the step's own values)
    child_fields: ClassVar[frozenset[str]] = frozenset()

    @property
    def label(self) -> str:
        return self.name or self.id

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        """The step lists nested in this step, with their JSON paths (`onError` steps included)."""
        return [(self.on_error, f"{path}.onError")] if isinstance(self.on_error, list) else []


class ActionStep(StepBase):
    can_be_result = True
    times_itself = True
    records_itself = True
    type: Literal["action"] = "action"
    action: str = Field(pattern=ACTION_NAME_PATTERN, examples=["http.request", "slack.send_message"])
    input: dict[str, Any] | str = Field(default_factory=dict, description="Object (expressions allowed)")
    connection_id: str | None = None


class ConditionStep(StepBase):
    child_fields = frozenset({"then", "else_"})
    type: Literal["condition"] = "condition"
    if_: Any = Field(alias="if", description="Expression; truthy runs `then`, else `else`")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        return [(self.then, f"{path}.then"), (self.else_, f"{path}.else"), *super().children(path)]


class SwitchStep(StepBase):
    child_fields = frozenset({"cases", "default"})
    type: Literal["switch"] = "switch"
    value: Any = Field(description="Expression whose value picks the case")
    cases: dict[str, list[Step]] = Field(default_factory=dict)
    default: list[Step] = Field(default_factory=list)

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        cases = [(steps, f"{path}.cases.{key}") for key, steps in self.cases.items()]
        return [*cases, (self.default, f"{path}.default"), *super().children(path)]


class LoopStep(StepBase):
    can_be_result = True
    child_fields = frozenset({"steps"})
    type: Literal["loop"] = "loop"
    items: Any = Field(description="Expression giving a list")
    steps: list[Step] = Field(min_length=1)
    concurrency: int = Field(default=1, ge=1, le=100)
    max_items: int | None = Field(default=None, ge=1, le=1_000_000)

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        return [(self.steps, f"{path}.steps"), *super().children(path)]


class ParallelStep(StepBase):
    can_be_result = True
    child_fields = frozenset({"branches"})
    type: Literal["parallel"] = "parallel"
    branches: list[list[Step]] = Field(min_length=1, max_length=50)

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        branches = [(branch, f"{path}.branches[{i}]") for i, branch in enumerate(self.branches)]
        return [*branches, *super().children(path)]


class DelayStep(StepBase):
    can_be_result = True
    type: Literal["delay"] = "delay"
    seconds: float | str | None = Field(default=None, description="Duration (number or expression)")
    until: str | None = Field(default=None, description="ISO time or expression")

    @model_validator(mode="after")
    def _exactly_one(self) -> DelayStep:
        if (self.seconds is None) == (self.until is None):
            raise ValueError("give exactly one of `seconds` or `until`")
        return self


class ApprovalStep(StepBase):
    can_be_result = True
    times_itself = True
    child_fields = frozenset({"notify"})
    type: Literal["approval"] = "approval"
    message: str = ""
    timeout_seconds: float | None = Field(default=None, gt=0, le=365 * 86400)
    default_decision: Literal["approve", "reject"] = "reject"
    approvers: list[str] | None = Field(
        default=None, description="User ids allowed to decide (any member if unset)"
    )
    on_reject: Literal["continue", "fail"] = Field(
        default="continue",
        description='"continue": the run goes on with `approved: false` in the output; "fail": a rejection '
        "(or a default reject at expiry) fails the step, as its onError says",
    )
    choices: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None,
        min_length=2,
        max_length=20,
        description="Ask for one of these instead of a yes: approving takes one (`output.choice`)",
        examples=[["refund", "replace", "decline"]],
    )
    fields: list[FormField] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Ask for values (as a hosted form's fields): approving takes values that pass them "
        "(`output.values`)",
    )
    notify: list[Step] = Field(
        default_factory=list,
        description="Steps run as the approval begins to wait, to ask for it: they read its rendered "
        "message as `{{ steps.<this step>.output.message }}` and signed one-click links as `.approveUrl` and "
        "`.rejectUrl` (approvals without `approvers`: a link decides for whoever holds it, so only what an "
        "action sends holds it; rows, logs and live views show a stand-in)",
    )

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        return [(self.notify, f"{path}.notify"), *super().children(path)]

    @model_validator(mode="after")
    def _asks_once(self) -> ApprovalStep:
        if self.choices is not None and len(set(self.choices)) != len(self.choices):
            raise ValueError("choices: each choice once")
        names = [f.name for f in self.fields or []]
        if len(set(names)) != len(names):
            raise ValueError("fields: two fields share a name")
        return self


class WaitStep(StepBase):
    """Waits for an event (POST /workspaces/{id}/events, or a call to the run's `{{ execution.resumeUrl }}`):
    the first one of its name that `match` accepts resumes it, and is its output."""

    can_be_result = True
    times_itself = True
    type: Literal["wait"] = "wait"
    event: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        examples=["order.paid"],
        description="The event's name",
    )
    match: Any = Field(
        default=None,
        description="Expression over `event` ({id, name, data, receivedAt}) and the run's values; the event "
        "resumes the step when it is truthy (unset: any event of the name)",
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=365 * 86400, description="How long to wait (unset: as long as the run lives)"
    )
    on_timeout: Literal["fail", "continue"] = Field(
        default="fail",
        description='"fail": the step fails (as its onError says); "continue": the run goes on with '
        "`timedOut: true` in the output",
    )


class SetStep(StepBase):
    can_be_result = True
    type: Literal["set"] = "set"
    values: dict[str, Any] = Field(default_factory=dict)


class SubworkflowStep(StepBase):
    can_be_result = True
    times_itself = True
    type: Literal["subworkflow"] = "subworkflow"
    workflow_id: str
    input: Any = Field(default_factory=dict)


class AgentStep(StepBase):
    can_be_result = True
    child_fields = frozenset({"notify"})
    type: Literal["agent"] = "agent"
    connection_id: str = Field(description="The LLM connection (docs/llm.md)")
    model: str = Field(min_length=1, examples=["gpt-4o-mini"])
    message: Any = Field(description="The user's message (expression allowed)")
    system: str | None = Field(default=None, description="System prompt (expression allowed)")
    temperature: float | None = Field(default=None, ge=0, le=2)
    tools: list[AgentTool] = Field(default_factory=list, max_length=64)
    max_turns: int = Field(default=10, ge=1, le=100, description="Model turns before the step fails")
    max_tokens: int | None = Field(
        default=None, gt=0, description="Tokens of all turns together before the step fails"
    )
    max_cost_usd: float | None = Field(
        default=None, gt=0, description="Cost of all turns together (USD) before the step fails"
    )
    memory: AgentMemory | None = None
    stream: bool = Field(
        default=False,
        description="Ask for streamed answers: their text shows as it comes in the run's live events "
        "(`token`) and in a chat's answer",
    )
    notify: list[Step] = Field(
        default_factory=list,
        description="Steps run each time a tool call (of a tool with `requireApproval`) begins to wait, to "
        "ask for it: they read `{{ steps.<this step>.output.tool }}`, `.arguments`, `.call` and `.message`, "
        "and that call's signed one-click links as `.approveUrl` and `.rejectUrl` (tools without "
        "`approvers`; rows, logs and live views show a stand-in)",
    )

    def children(self, path: str) -> list[tuple[list[Step], str]]:
        return [(self.notify, f"{path}.notify"), *super().children(path)]

    @model_validator(mode="after")
    def _tool_names_unique(self) -> AgentStep:
        names = [tool.name for tool in self.tools]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"two tools are named {twice[0]!r}")
        return self


def refused_response_header(name: str) -> bool:
    """Headers a workflow may not answer with from Baton's origin: cookies (they would be the API's) and
    CORS (they would open the API to other sites)."""
    lowered = name.strip().lower()
    return lowered in {"set-cookie", "set-cookie2"} or lowered.startswith("access-control-")


class RespondStep(StepBase):
    can_be_result = True
    type: Literal["respond"] = "respond"
    status: int | str = Field(default=200, description="HTTP status (or expression)")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Answer headers; Set-Cookie and Access-Control-* are refused"
    )
    body: Any = None
    file: Any = Field(
        default=None,
        description="A file (a FileRef, or an expression giving one) to answer with instead of `body`: its "
        "bytes, its Content-Type and Content-Length, as an attachment named after it",
    )


class StopStep(StepBase):
    type: Literal["stop"] = "stop"
    status: Literal["SUCCESS", "FAILED"] = "SUCCESS"
    message: str | None = None


# The built-in step types, written once: what the type checker sees as a step, and (with the plug-in step
# types) the members of the `Step` union below.
BuiltInStep = (
    ActionStep
    | ConditionStep
    | SwitchStep
    | LoopStep
    | ParallelStep
    | DelayStep
    | ApprovalStep
    | WaitStep
    | SetStep
    | SubworkflowStep
    | AgentStep
    | RespondStep
    | StopStep
)
BUILT_IN_STEP_MODELS: tuple[type[StepBase], ...] = get_args(BuiltInStep)
# Step types from installed packages: an entry point in the `baton.step_types` group names a StepBase
# subclass (its handler is named in `baton.step_handlers`, read by the worker; docs/contributing.md).
STEP_TYPES_ENTRY_POINTS = "baton.step_types"


def _plugin_step_models() -> tuple[type[StepBase], ...]:
    models = []
    for entry_point in entry_points(group=STEP_TYPES_ENTRY_POINTS):
        model = entry_point.load()
        if not (isinstance(model, type) and issubclass(model, StepBase)) or "type" not in model.model_fields:
            raise TypeError(
                f"entry point {entry_point.name} = {entry_point.value} ({STEP_TYPES_ENTRY_POINTS}) is not a "
                "step model: a subclass of core.definition.steps.StepBase with a `type: Literal[...]` field"
            )
        models.append(model)
    return tuple(models)


STEP_MODELS: tuple[type[StepBase], ...] = BUILT_IN_STEP_MODELS + _plugin_step_models()
# The discriminated union on `type` every list of steps holds (plug-in step types included).
if TYPE_CHECKING:  # what the type checker sees: the built-in step types
    Step = Annotated[BuiltInStep, Field(discriminator="type")]
else:
    Step = Annotated[Union[STEP_MODELS], Field(discriminator="type")]  # noqa: UP007 (built at import)
_models: list[type[StepBase]] = [StepBase, *STEP_MODELS]
for _model in _models:
    _model.model_rebuild()
# Each step type's wire name (`"action"`, `"loop"`, ...).
STEP_TYPES = frozenset(step_type(model) for model in STEP_MODELS)
if len(STEP_TYPES) != len(STEP_MODELS):
    raise TypeError(f"two step models share a `type`: {sorted(step_type(m) for m in STEP_MODELS)}")

TRIGGER_CONFIGS: dict[TriggerType, type[BaseModel]] = {
    TriggerType.WEBHOOK: WebhookTriggerConfig,
    TriggerType.SCHEDULE: ScheduleTriggerConfig,
    TriggerType.POLLING: PollingTriggerConfig,
    TriggerType.MANUAL: ManualTriggerConfig,
}


class WorkflowDefinition(DefinitionModel):
    """What a workflow version runs: the seed's `triggerType`, `triggerConfig` and `steps` columns."""

    trigger_type: TriggerType
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] = Field(default_factory=list)
    # Not a version's: the workflow's setting when the run started (workflows.concurrency), carried with it
    concurrency: Concurrency | None = None
    # Nor this: the workflow's `strictExpressions` when the run started (workflows.strict_expressions)
    strict_expressions: bool = False

    @model_validator(mode="after")
    def _trigger_config_fits_its_type(self) -> WorkflowDefinition:
        TRIGGER_CONFIGS[self.trigger_type].model_validate(self.trigger_config)
        return self


def definition_json_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow definition (served at GET /api/v1/definition-schema)."""
    schema = WorkflowDefinition.model_json_schema(by_alias=True)
    schema["title"] = "Baton workflow definition"
    return schema
