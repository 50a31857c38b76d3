"""A SCHEDULE workflow's Temporal Schedule, as its users see it: what it will run next and what it ran
lately (`view`), and the missed slots run again (`backfill`, Temporal's schedule backfill), so a schedule
that was paused, or a Baton that was down past the catch-up window, loses no run it should have made."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from core.contract import schedule_id, scheduled_execution_id
from core.errors import BatonError, Conflict, ServiceUnavailable

# A backfill of more than this many days is refused: a slip of the date would start months of runs.
MAX_BACKFILL_DAYS = 31
BACKFILL_OVERLAP = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}


class InvalidRange(BatonError, status=422, kind="invalid_range"):
    """A backfill range in the future, reversed, or longer than MAX_BACKFILL_DAYS."""


@dataclass(frozen=True)
class RecentRun:
    scheduled_at: datetime
    started_at: datetime
    execution_id: str | None


@dataclass(frozen=True)
class ScheduleView:
    schedule_id: str
    paused: bool
    note: str | None
    next_run_times: list[datetime]
    recent_runs: list[RecentRun]
    runs_total: int
    missed_catchup_window: int
    skipped_overlap: int
    running_execution_ids: list[str] = field(default_factory=list)


async def view(client: Client, workflow_id: str) -> ScheduleView:
    """The schedule of a workflow: Conflict when it has none (not a published SCHEDULE workflow)."""
    handle = client.get_schedule_handle(schedule_id(workflow_id))
    try:
        described = await handle.describe()
    except RPCError as exc:
        raise _refused(exc) from exc
    info = described.info
    recent = []
    for result in info.recent_actions:
        started = result.action
        tick = started.workflow_id if isinstance(started, ScheduleActionExecutionStartWorkflow) else None
        recent.append(
            RecentRun(result.scheduled_at, result.started_at, scheduled_execution_id(tick) if tick else None)
        )
    return ScheduleView(
        schedule_id=described.id,
        paused=described.schedule.state.paused,
        note=described.schedule.state.note,
        next_run_times=list(info.next_action_times),
        recent_runs=recent,
        runs_total=info.num_actions,
        missed_catchup_window=info.num_actions_missed_catchup_window,
        skipped_overlap=info.num_actions_skipped_overlap,
        running_execution_ids=[
            scheduled_execution_id(r.workflow_id)
            for r in info.running_actions
            if isinstance(r, ScheduleActionExecutionStartWorkflow)
        ],
    )


def check_range(since: datetime, until: datetime, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The range of a backfill, in UTC: in the past, in order, at most MAX_BACKFILL_DAYS long."""
    now = now or datetime.now(UTC)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    if until > now:
        raise InvalidRange(
            "is in the future: the schedule runs those slots itself (give a time before now)", path="to"
        )
    if since >= until:
        raise InvalidRange("must be before `to`", path="from")
    if until - since > timedelta(days=MAX_BACKFILL_DAYS):
        raise InvalidRange(f"a backfill spans at most {MAX_BACKFILL_DAYS} days", path="from")
    return since, until


async def backfill(
    client: Client, workflow_id: str, since: datetime, until: datetime, overlap: str | None
) -> None:
    """Runs the slots of [since, until) the schedule would have run, as Temporal does for a backfill:
    each slot a run whose `trigger.scheduledAt` is the slot's time, with `overlap` (default: the
    schedule's own policy) deciding about slots that would overlap a run still going."""
    handle = client.get_schedule_handle(schedule_id(workflow_id))
    policy = BACKFILL_OVERLAP[overlap] if overlap is not None else None
    try:
        await handle.backfill(ScheduleBackfill(start_at=since, end_at=until, overlap=policy))
    except RPCError as exc:
        raise _refused(exc) from exc


def _refused(exc: RPCError) -> BatonError:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return Conflict(
            "this workflow has no schedule: only a published SCHEDULE workflow has one (publish it first)"
        )
    return ServiceUnavailable(f"Temporal did not answer about the schedule ({exc.message})")
