"""What Baton's other workflows carry: debounced calls, bulk replays, schedules and pollers, retention,
approval links, cancels and the settling of runs closed behind Baton's back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.contract.runs import ExecutionStarted, RunInput, StepRecord


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
    call: int | None = None  # an agent step's tool call waiting for approval: its own pair


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
