"""The Temporal contract: the names of Baton's workflows, activities, updates, queries and signal, and
the data a run carries between the API, the interpreter workflow and its activities.

Plain dataclasses (Temporal's default converter handles them) so fields can be added compatibly: a new
field always has a default, so histories recorded before it still decode.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.definition.steps import STEP_MODELS
from core.expressions import size_of

INTERPRETER_WORKFLOW = "BatonRun"
SCHEDULED_RUN_WORKFLOW = "BatonScheduledRun"
POLLER_WORKFLOW = "BatonPoller"
DEBOUNCE_WORKFLOW = "BatonDebounce"  # one per debounced key: holds the last event until quiet
BATCH_WORKFLOW = "BatonBatch"  # a bulk retry or resume (core.runs.batches)
MAINTENANCE_WORKFLOW = "BatonMaintenance"
CANCEL_WORKFLOW = "BatonCancel"  # one per cancelled run: terminates it when it has not ended in time
# The Temporal contract's names, written once: activities define themselves with them, the workflows call
# them by method reference, and the API (which holds no activity) sends the updates and signals by name.
# Every activity takes one dataclass and returns one (or nothing): fields can be added compatibly.
EXECUTION_STARTED_ACTIVITY = "baton.execution_started"
WRITE_STEPS_ACTIVITY = "baton.write_steps"
EXECUTION_FINISHED_ACTIVITY = "baton.execution_finished"
PUBLISHED_VERSION_ACTIVITY = "baton.published_version"
SCHEDULE_FIRE_ACTIVITY = "baton.schedule_fire"
RELEASE_SCHEDULE_ACTIVITY = "baton.release_schedule"
POLL_TRIGGER_ACTIVITY = "baton.poll_trigger"
APPLY_RETENTION_ACTIVITY = "baton.apply_retention"
APPROVAL_LINKS_ACTIVITY = "baton.approval_links"
FIRE_DEBOUNCED_ACTIVITY = "baton.fire_debounced"  # starts the run of a debounced burst
REPLAY_CHUNK_ACTIVITY = "baton.replay_chunk"  # retries or resumes a slice of a batch's runs
TAKE_SLOT_ACTIVITY = "baton.take_slot"  # a concurrency-limited run's place in its key's queue
SETTLE_RUN_ACTIVITY = "baton.settle_run"  # records the true end of a run Temporal closed (or terminates it)
# Since patch TYPED_ACTIVITIES_PATCH the workflows call the activities above; runs and pollers started
# before it replay with these, which took plain values, and the worker keeps them for activities already
# scheduled under their names. They go once no run started before the patch is left (deprecate the patch).
TYPED_ACTIVITIES_PATCH = "typed-activities"
# The interpreter's code paths a run takes from its first task, named by `RunInput.engine`. A run started
# with engine 1 takes every path that the patches below guard as if each were applied, without asking
# `workflow.patched` (which records a marker and upserts `TemporalChangeVersion`: four history events of a
# one-action run's twelve). Runs started before (engine 0) ask, and replay as they ran. A patch added later
# is asked with `workflow.patched` until a new engine number folds it in. Workers must be upgraded before
# the API that starts runs with a new engine number.
# Engine 2 writes a run's start (its row RUNNING, "Execution started") with the run's first write of rows
# (`started` on the action request, the step rows or the finish) instead of a local activity of its own:
# one workflow activation and one history event fewer per run (FIRST_WRITE_ENGINE).
CURRENT_ENGINE = 2
FIRST_WRITE_ENGINE = 2
ENGINE_PATCHES: dict[int, frozenset[str]] = {
    1: frozenset(
        {
            "local-records",
            "local-actions",
            "bounded-payloads",
            "live-waits",
            TYPED_ACTIVITIES_PATCH,
            "rows-at-attempt",
        }
    ),
    2: frozenset(),  # no patch: FIRST_WRITE_ENGINE is asked by number
}
LEGACY_RETENTION_ACTIVITY = "baton.retention"
LEGACY_RECORD_STEPS_ACTIVITY = "baton.record_steps"
LEGACY_LOAD_PUBLISHED_VERSION_ACTIVITY = "baton.load_published_version"
LEGACY_SCHEDULE_RELEASE_ACTIVITY = "baton.schedule_release"
LEGACY_POLL_ACTIVITY = "baton.poll"
# What a waiting step is handed (core.runs.waits.Delivery: an approval's decision, ...); runs keep taking
# DECIDE_UPDATE, which was the only way in before it.
DELIVER_UPDATE = "deliver"
DECIDE_UPDATE = "decide"  # an approval's decision, as runs were sent it before DELIVER_UPDATE
AWAIT_RESPONSE_UPDATE = "await_response"  # a sync webhook's reply (core.runs.reply)
PROGRESS_QUERY = "progress"  # a batch's progress so far
STATE_QUERY = "state"  # where a run is: `temporal workflow query --type state`
RESPONSE_QUERY = "response"  # a respond step's reply so far: `temporal workflow query --type response`
POKE_SIGNAL = "poke"  # makes a poller poll now (sent when a new version is published)
DEBOUNCE_SIGNAL = "event"  # a debounced webhook call, to its key's BatonDebounce
PAUSE_SIGNAL = "pause"  # park the run at its next step boundary (POST .../executions/{id}/pause)
UNPAUSE_SIGNAL = (
    "unpause"  # go on: a paused run, or a step parked by onError "pause" (tried again or given up)
)
SLOT_SIGNAL = "slot"  # a concurrency slot freed up for a run waiting for one (core.runs.concurrency)
STEP_RECORD_NAMESPACE = uuid.UUID("0d6f7c1e-8a55-4a8e-9a63-2d0f1b7a9c41")
MAX_OUTPUT_BYTES = 256 * 1024
MAX_SUBWORKFLOW_DEPTH = 5
# The largest value one step may hand on inside a run (its output, an action's rendered input, the run's
# result): Temporal refuses a payload over 2 MiB, and a refused payload fails the workflow task for ever.
MAX_PAYLOAD_BYTES = 1024 * 1024
# The longest delay a step may ask for (a timer far past this is a bad value, not a plan).
MAX_DELAY_SECONDS = 100 * 365 * 86400
# The error type of an action attempt refused by its connection's rate limit (retried when the window resets).
RATE_LIMITED = "RateLimited"
# The error type of an action attempt that met Baton's own PostgreSQL or Redis out of reach (core.outages):
# the step waits and tries again like a rate-limited one, without spending its retries.
UNAVAILABLE = "BatonUnavailable"
UNAVAILABLE_RETRY_SECONDS = 2.0
# The catalogue action that is a `respond` step (run by the interpreter, not as an activity).
WEBHOOK_RESPOND_ACTION = "webhook.respond"


def payload_bytes(value: Any, limit: int = MAX_PAYLOAD_BYTES) -> int:
    """The size of `value` as Temporal's JSON converter sends it, exactly when it could be near `limit`
    (a cheap count of characters and items screens out the small ones: JSON takes at most 6 bytes each)."""
    if size_of(value, limit) * 6 < limit:
        return 0
    return len(json.dumps(value, separators=(",", ":")).encode())


def too_large(value: Any, what: str, limit: int = MAX_PAYLOAD_BYTES) -> str | None:
    """Why `value` cannot travel through Temporal, or None when it can."""
    size = payload_bytes(value, limit)
    if size <= limit:
        return None
    return (
        f"{what} is {size // 1024:,} KiB, over the {limit // 1024:,} KiB a value may take inside a run; keep "
        "large data outside the run (store it, pass its URL or id) or narrow it down"
    )


def batch_workflow_id(batch_id: str) -> str:
    return f"batch-{batch_id}"


def debounce_workflow_id(workflow_id: str, key_hash: str) -> str:
    """The Temporal workflow id of a debounced key's BatonDebounce (`debounce-{workflowId}-{hash}`)."""
    return f"debounce-{workflow_id}-{key_hash or 'all'}"


def run_workflow_id(execution_id: str) -> str:
    """The Temporal workflow id of an execution (`run-{executionId}`)."""
    return f"run-{execution_id}"


# Baton's own workflow types: a workflow named like one of them runs under INTERPRETER_WORKFLOW instead.
OWN_WORKFLOW_TYPES = frozenset(
    {
        INTERPRETER_WORKFLOW,
        SCHEDULED_RUN_WORKFLOW,
        POLLER_WORKFLOW,
        DEBOUNCE_WORKFLOW,
        BATCH_WORKFLOW,
        MAINTENANCE_WORKFLOW,
        CANCEL_WORKFLOW,
    }
)
# Since this patch the workflows that start runs (a schedule's tick, a subworkflow step) start them under
# run_workflow_type; runs begun before it replay starting INTERPRETER_WORKFLOW.
NAMED_RUN_TYPES_PATCH = "named-run-types"
RUN_TYPE_MAX_LENGTH = 200  # Temporal refuses names past 1,000 characters; a list column shows far fewer


def run_workflow_type(workflow_name: str | None) -> str:
    """The Temporal workflow type a run starts under: its workflow's name, so the Web UI's list (whose
    default columns are the id, the run id and the type) says which workflow each run belongs to. The
    worker serves every such name with the interpreter (worker.named_runs). A workflow without a name, or
    named like one of Baton's own workflow types, runs as INTERPRETER_WORKFLOW."""
    name = (workflow_name or "").strip()[:RUN_TYPE_MAX_LENGTH].strip()
    return name if name and name not in OWN_WORKFLOW_TYPES else INTERPRETER_WORKFLOW


def cancel_workflow_id(execution_id: str) -> str:
    """The Temporal workflow id of a run's cancellation (`cancel-{executionId}`): one per run."""
    return f"cancel-{execution_id}"


def schedule_id(workflow_id: str) -> str:
    """The Temporal Schedule of a SCHEDULE workflow."""
    return f"schedule-{workflow_id}"


def scheduled_run_id(workflow_id: str) -> str:
    """The id prefix of the workflows its schedule starts (Temporal appends the scheduled time)."""
    return f"scheduled-{workflow_id}"


SCHEDULED_NAMESPACE = uuid.UUID("5b3c1f0e-6f1a-4d7e-9a0b-0c2f4e6a8b13")


def scheduled_execution_id(tick_id: str) -> str:
    """The execution a schedule's tick starts (`tick_id`: the workflow id Temporal gave the tick)."""
    return str(uuid.uuid5(SCHEDULED_NAMESPACE, tick_id))


def poller_id(workflow_id: str) -> str:
    """The long-running poller of a POLLING workflow."""
    return f"poll-{workflow_id}"


def step_record_id(execution_id: str, key: str) -> str:
    """A stable StepExecution id, so recording the same step twice updates one row."""
    return str(uuid.uuid5(STEP_RECORD_NAMESPACE, f"{execution_id}/{key}"))


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


@dataclass
class Decision:
    """An approver's answer to an approval step (sent as a Temporal Update)."""

    step_id: str
    approved: bool
    by: str | None = None
    comment: str | None = None


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


# Where a definition's raw JSON nests steps (the wire names of the step models' `child_fields`, and
# `onError`): lists of steps, a dict of lists (`cases`) or a list of lists (`branches`). The built-in
# types' keys first, in the order the walk has always taken, then those of plug-in step types.
_BUILT_IN_CHILD_KEYS = ("then", "else", "cases", "default", "steps", "branches", "onError")
_CHILD_KEYS = _BUILT_IN_CHILD_KEYS + tuple(
    sorted(
        {model.model_fields[name].alias or name for model in STEP_MODELS for name in model.child_fields}
        - set(_BUILT_IN_CHILD_KEYS)
    )
)


def _step_dicts(steps: Any) -> Iterator[dict[str, Any]]:
    """Every step of a definition's raw `steps`, nested ones included, and nothing else: an action's input
    that happens to hold `{"type": "action"}` is data, not a step."""
    pending = [steps]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending.extend(reversed(value))
        elif isinstance(value, dict) and "type" in value and "id" in value:
            yield value
            for key in _CHILD_KEYS:
                child = value.get(key)
                if isinstance(child, dict):  # `cases`
                    pending.extend(reversed(list(child.values())))
                elif isinstance(child, list):
                    pending.append(child)


def step_ids_in_order(steps: Any) -> list[str]:
    """A definition's step ids in the order a run meets them (each step before the steps nested in it)."""
    return [str(step["id"]) for step in _step_dicts(steps)]


def _is_respond(step: Any) -> bool:
    return isinstance(step, dict) and (
        step.get("type") == "respond"
        or (step.get("type") == "action" and step.get("action") == WEBHOOK_RESPOND_ACTION)
    )


def responds_before_the_end(steps: Any) -> bool:
    """Whether a run of these steps may reply to a sync webhook before it ends: a respond step anywhere but
    as the last top-level step. When not, the reply is the run's result and waiting for it is enough."""
    if not isinstance(steps, list):
        return False
    found = sum(1 for value in _step_dicts(steps) if _is_respond(value))
    last_is_respond = bool(steps) and _is_respond(steps[-1])
    return found > (1 if last_is_respond else 0)


def action_integrations(steps: Any) -> list[str]:
    """The integrations named by the action steps of a definition, nested ones included, sorted."""
    found: set[str] = set()
    for value in _step_dicts(steps):
        action = value.get("action")
        if value.get("type") == "action" and isinstance(action, str) and "." in action:
            found.add(action.split(".", 1)[0])
    return sorted(found)


def approval_steps(steps: Any) -> dict[str, list[str] | None]:
    """The approval steps of a definition, nested ones included: step id -> its approvers (None: anyone)."""
    found: dict[str, list[str] | None] = {}
    for value in _step_dicts(steps):
        if value.get("type") == "approval" and isinstance(value.get("id"), str):
            approvers = value.get("approvers")
            found[value["id"]] = list(approvers) if isinstance(approvers, list) else None
    return found


@dataclass
class DebouncedEvent:
    """One call of a debounced webhook: its `trigger` and when it came."""

    trigger: Any
    at: str


@dataclass
class DebounceStart:
    """A BatonDebounce: the workflow, its key and quiet time, and (after continue-as-new) what it held."""

    workflow_id: str
    key: str
    seconds: float
    pending: DebouncedEvent | None = None
    events: int = 0
    first_at: str | None = None
    fired: int = 0


@dataclass
class DebounceFire:
    """The run of a burst: the last event's trigger, under an execution id the debouncer chose."""

    workflow_id: str
    execution_id: str
    trigger: Any
    events: int
    first_at: str | None = None
    last_at: str | None = None


@dataclass
class BatchRequest:
    """A bulk retry or resume: the runs it was given (chosen when it was asked) and how to replay them."""

    batch_id: str
    workspace_id: str
    action: str  # "retry" or "resume"
    execution_ids: list[str]
    latest_version: bool = False
    requested_by: str | None = None


@dataclass
class ReplayChunk:
    batch_id: str
    action: str
    execution_ids: list[str]
    latest_version: bool = False


@dataclass
class ReplayOutcome:
    """One run of a batch: the run it started, or why it was skipped."""

    execution_id: str
    started: str | None = None
    skipped: str | None = None


@dataclass
class ReplayOutcomes:
    outcomes: list[ReplayOutcome] = field(default_factory=list)


@dataclass
class ScheduledFire:
    """What a schedule's tick carries: which workflow, and (filled by the tick) when it was due."""

    workflow_id: str
    scheduled_at: str | None = None
    tick_id: str | None = None


@dataclass
class StepRows:
    """Step rows the interpreter buffered, for `baton.write_steps`."""

    execution_id: str
    records: list[StepRecord] = field(default_factory=list)
    started: ExecutionStarted | None = None  # the run's start, not written yet (FIRST_WRITE_ENGINE)


@dataclass
class VersionRequest:
    workflow_id: str


@dataclass
class PublishedVersion:
    """The latest published version of a workflow (what a subworkflow step runs)."""

    workflow_id: str
    workspace_id: str
    version: int
    definition: dict[str, Any]
    name: str = ""


@dataclass
class ApprovalLinksRequest:
    execution_id: str
    step_id: str
    expires_at: str | None = None  # the approval's deadline, if it has one


@dataclass
class ApprovalLinks:
    """The stand-ins of a signed, expiring, single-use pair: an action sends the links they stand for
    (core.runs.approval_links); nothing else the run writes holds them."""

    approve_url: str
    reject_url: str
    expires_at: str


@dataclass
class TriggerRef:
    """Which workflow's trigger an activity acts on (a poll, a schedule's lock)."""

    workflow_id: str


@dataclass
class RetentionRequest:
    dry_run: bool = False


@dataclass
class RetentionReport:
    """What the retention policy deleted (or would have, with `dryRun`), by collection and table."""

    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class PollerInput:
    workflow_id: str
    # Polls done by earlier runs of this poller (it continues-as-new every POLLS_PER_RUN polls).
    polls: int = 0


@dataclass
class PollOutcome:
    """One poll: what it fired, and whether the poller should go on (and how long to sleep)."""

    keep_polling: bool
    interval_seconds: float
    fired: list[str] = field(default_factory=list)
    baseline: bool = False
    error: str | None = None


@dataclass
class FireDecision:
    """What `baton.schedule_fire` decided for a tick: the run to start, or why none."""

    run: RunInput | None = None
    skipped: str | None = None


@dataclass
class CancelRequest:
    """A run's cancellation (BatonCancel): the run was asked to stop; after `grace_seconds` it is terminated
    if it has not ended."""

    execution_id: str
    grace_seconds: float = 30


@dataclass
class SettleRequest:
    """Records the true end of a run Temporal closed; with `terminate` (the reason), a run still going is
    terminated first and recorded CANCELLED."""

    execution_id: str
    terminate: str | None = None


@dataclass
class Settled:
    """What settling recorded: the run's true end (None: nothing to record, it runs or its row has ended)."""

    status: str | None = None
    error: str | None = None
