"""What a run carries between the API, the interpreter workflow and its activities: its input and result,
its step rows, an action's request, a decision, a pause, its place in a concurrency queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunInput:
    """Everything a run needs; the definition travels with it, so edits never touch runs in flight."""

    # In the order the Temporal Web UI's input pane shows them: what ran and why first, the definition
    # behind (fields are matched by name, so histories recorded in the former order decode alike).
    execution_id: str
    workflow_id: str
    workspace_id: str
    version: int
    workflow_name: str = ""  # when the run began (the Web UI's summary of the run; core.runs.handles)
    trigger_type: str = "MANUAL"
    trigger_data: Any = None
    definition: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    timeout_seconds: float | None = None
    depth: int = 0
    # Resume-from-failure: outputs of steps that already succeeded, by step id, reused instead of re-run.
    reused_outputs: dict[str, Any] = field(default_factory=dict)
    # Continue-as-new: where the previous run of this execution stopped (top-level step index) and its state.
    resume_at: int = 0
    carried_outputs: dict[str, Any] = field(default_factory=dict)
    carried_vars: dict[str, Any] = field(default_factory=dict)
    carried_result: Any = None
    carried_response: dict[str, Any] | None = None
    # Loop batches run as child workflows: the loop step's items and where they start.
    batch: LoopBatch | None = None
    record: bool = True
    loop_batch_size: int = 200
    engine: int = 0  # which patches the run takes without asking (CURRENT_ENGINE, ENGINE_PATCHES)
    # The largest value (JSON bytes) a step of this run may hand on, taken from MAX_VALUE_BYTES as the run
    # starts when a blob store holds large values (core.blobs.run_value_limit); 0 (runs started before, or
    # without a store): the limits of before (core.contract.names.value_too_large). Carried here, never read
    # from settings in workflow code, so a replay meets the limit the run met.
    value_limit: int = 0


@dataclass
class LoopBatch:
    """A slice of a large loop, run by a child workflow so no history grows without bound."""

    loop_path: str
    items: list[Any]
    offset: int
    scope_outputs: dict[str, Any] = field(default_factory=dict)
    scope_vars: dict[str, Any] = field(default_factory=dict)
    iteration_path: str = ""
    loop_step: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    status: str
    result: Any = None
    error: str | None = None
    response: dict[str, Any] | None = None
    # For loop batches: each item's result, in order.
    results: list[Any] | None = None


@dataclass
class StepRecord:
    """One StepExecution row as the interpreter saw it; `key` is the step id plus its loop iteration path."""

    key: str
    step_id: str
    step_type: str
    status: str
    input: Any = None
    output: Any = None
    error: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    retry_count: int = 0
    # While the step has not ended: what it is doing (core.runs.live: running, retrying, rateLimited,
    # waiting), shown by the API; None once it ends.
    state: dict[str, Any] | None = None
    # Where the step began in its run (RunState counts steps as they start): rows written in one workflow
    # task share started_at, so this orders them. None from interpreters before it.
    sequence: int | None = None


@dataclass
class ActionRequest:
    """The single input of every action activity: the rendered input, where it belongs, and the step rows
    the interpreter buffered since its last write (written by the activity in the same transaction)."""

    input: dict[str, Any]
    execution_id: str | None = None
    step_id: str | None = None
    step_key: str | None = None
    connection_id: str | None = None
    workspace_id: str | None = None
    started_at: str | None = None
    record: bool = False
    records: list[StepRecord] = field(default_factory=list)
    # Called again after a wait (rate limit, outage): an earlier call may have acted, so look for its output.
    again: bool = False
    # The run's start, not written yet (FIRST_WRITE_ENGINE): written before the buffered rows.
    started: ExecutionStarted | None = None
    sequence: int | None = None  # the step's StepRecord.sequence
    output_limit: int = 0  # the run's value_limit: the largest output (0: MAX_OUTPUT_BYTES, as before)


@dataclass
class Decision:
    """An approver's answer to an approval step (sent as a Temporal Update)."""

    step_id: str
    approved: bool
    by: str | None = None
    comment: str | None = None
    # An agent's tool call waiting for approval: the arguments to call it with instead of the model's.
    arguments: dict[str, Any] | None = None
    # A human step with `choices`: the one chosen; with `fields`: the values given (core.forms).
    choice: str | None = None
    values: dict[str, Any] | None = None
    # An agent step's tool call (its number in the step), when the decision is for that call only (a signed
    # link's): refused unless that very call is the one waiting.
    call: int | None = None


@dataclass
class ExecutionStarted:
    execution_id: str
    workflow_id: str
    trigger_data: Any
    started_at: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecutionFinished:
    execution_id: str
    workflow_id: str
    status: str
    completed_at: str
    result: Any = None
    error: str | None = None
    records: list[StepRecord] = field(default_factory=list)
    # The integrations the workflow's action steps use (for the `workflow_executed` analytics event).
    integrations: list[str] = field(default_factory=list)
    # The run took a place in a concurrency queue: its end releases it.
    concurrency: bool = False
    # The run's start, when no write has certainly carried it (FIRST_WRITE_ENGINE): written first, once.
    started: ExecutionStarted | None = None


@dataclass
class PauseRequest:
    by: str | None = None
    reason: str | None = None


@dataclass
class Unpause:
    """Goes on: a paused run at its step boundary; a step parked by onError "pause" is tried again (with
    `step_input` instead of its rendered input when given: an action's) or, with `give_up`, fails."""

    by: str | None = None
    step_input: Any = None
    give_up: bool = False
    latest_version: bool = False  # go on from the step on the workflow's latest published version


@dataclass
class SlotRequest:
    """A concurrency-limited run asks for its slot (core.runs.concurrency)."""

    execution_id: str
    workflow_id: str
    key: str
    limit: int


@dataclass
class SlotPlace:
    """Where it stands: `holds` a slot, or waits at `place` (1 = next)."""

    holds: bool
    place: int = 0
    key: str = ""
