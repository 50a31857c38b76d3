"""The names of Baton's workflows, activities, updates, queries and signals, the interpreter's patches
and engine numbers, the ids runs and their rows take, and the limits of what a run may carry."""

from __future__ import annotations

import json
import uuid
from typing import Any

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


def value_too_large(value: Any, what: str, run_limit: int, legacy: int = MAX_PAYLOAD_BYTES) -> str | None:
    """Why `value` is over what a run may hand on, or None: `run_limit` (RunInput.value_limit, from
    MAX_VALUE_BYTES) for a run started with a blob store, else `legacy` (the limit of before)."""
    limit = run_limit or legacy
    size = payload_bytes(value, limit)
    if size <= limit:
        return None
    if run_limit:
        return (
            f"{what} is {size:,} bytes, over the {limit:,} bytes a value may take in this run "
            "(MAX_VALUE_BYTES); keep larger data outside the run (store it, pass its URL or id) or narrow "
            "it down"
        )
    return (
        f"{what} is {size // 1024:,} KiB, over the {limit // 1024:,} KiB a value may take in a run without a "
        "blob store (BLOB_STORE_URL is not set; with one, MAX_VALUE_BYTES is the limit); keep large data "
        "outside the run (store it, pass its URL or id) or narrow it down"
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
