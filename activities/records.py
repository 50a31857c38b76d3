"""Activities that keep the seed's execution rows true (WorkflowExecution, StepExecution, Workflow
counters) through their one owner, core.runs.rows, and tell the log store and the live views.

Status changes are published on Redis `execution:{executionId}` for live views (best effort: the rows are
the truth).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.attempts import StepRecorder
from activities.metrics import count
from core.analytics import executed_event, step_failed_event
from core.contract import (
    EXECUTION_FINISHED_ACTIVITY,
    EXECUTION_STARTED_ACTIVITY,
    LEGACY_LOAD_PUBLISHED_VERSION_ACTIVITY,
    LEGACY_RECORD_STEPS_ACTIVITY,
    PUBLISHED_VERSION_ACTIVITY,
    TAKE_SLOT_ACTIVITY,
    WRITE_STEPS_ACTIVITY,
    ActionRequest,
    ExecutionFinished,
    ExecutionStarted,
    PublishedVersion,
    SlotPlace,
    SlotRequest,
    StepRecord,
    StepRows,
    VersionRequest,
    payload_bytes,
)
from core.live import live_event, new_entry_id
from core.logstore import LogWriters
from core.models import ExecutionStatus
from core.models.enums import FAILED_STATUSES
from core.redaction import NO_SECRETS, Secrets, redact
from core.redis_keys import RedisKeys
from core.runs import live
from core.runs.alerts import FailureAlerts
from core.runs.concurrency import ConcurrencySlots
from core.runs.rows import ExecutionRows, FinishedRun, duration_ms, parse_time
from core.runs.waits import parse_wait
from core.workflows import version_to_run

logger = logging.getLogger("baton.records")
# One line per run event, for `baton dev`'s console (baton/console.py sets its level; unset, it says nothing).
run_events = logging.getLogger("baton.runs")


class RecordActivities(StepRecorder):
    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        keys: RedisKeys,
        writers: LogWriters | None = None,
        alerts: FailureAlerts | None = None,
        slots: ConcurrencySlots | None = None,
    ) -> None:
        self._engine = engine
        self._slots = slots or ConcurrencySlots(engine)  # concurrency limits' queues
        self._alerts = alerts  # error workflows, started when a run fails (core.runs.alerts)
        self._rows = ExecutionRows(engine)
        self._redis = redis
        self._keys = keys
        self._logs = writers.logs if writers else None
        self._events = writers.events if writers else None
        # execution id -> workflow id, and workflow id -> workspace id (never changes), for entries and events
        self._workflows: dict[str, str | None] = {}
        self._workspaces: dict[str, str | None] = {}

    async def _scope(
        self, execution_id: str, workflow_id: str | None = None
    ) -> tuple[str | None, str | None]:
        """(workflow id, workspace id) of a run, read once per worker and kept."""
        if workflow_id is None and execution_id not in self._workflows:
            if len(self._workflows) > 10_000:
                self._workflows.clear()
            self._workflows[execution_id] = await self._rows.workflow_of(execution_id)
        workflow_id = workflow_id or self._workflows.get(execution_id)
        if workflow_id is not None and workflow_id not in self._workspaces:
            if len(self._workspaces) > 10_000:
                self._workspaces.clear()
            self._workspaces[workflow_id] = await self._rows.workspace_of(workflow_id)
        return workflow_id, self._workspaces.get(workflow_id) if workflow_id else None

    async def emit(
        self, execution_id: str, entries: list[dict[str, Any]], workflow_id: str | None = None
    ) -> None:
        """Writes log entries (batched: never fails the step) and publishes their live events, in order, on
        `execution:{id}` and on the workspace's channel, in one round trip (best effort: the rows are the
        truth)."""
        if not entries:
            return
        if run_events.level and run_events.isEnabledFor(logging.INFO):  # `baton dev`'s console shows them
            for entry in entries:
                run_events.info("run %s  %s", execution_id[:8], entry.get("message"))
        workflow_id, workspace_id = await self._scope(execution_id, workflow_id)
        for entry in entries:
            entry["workflowId"] = workflow_id
            if self._logs is not None:
                self._logs.add(entry)
        channels = [self._keys.execution_channel(execution_id)]
        if workspace_id is not None:
            channels.append(self._keys.workspace_channel(workspace_id))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for entry in entries:
                    message = json.dumps(live_event(entry), default=str)
                    for channel in channels:
                        pipe.publish(channel, message)
                await pipe.execute()
        except Exception as exc:
            logger.warning("could not publish on execution:%s: %s", execution_id, exc)

    async def emit_steps(
        self, execution_id: str, records: Sequence[StepRecord], secrets: dict[str, Secrets] | None = None
    ) -> None:
        """Entries and events for step rows (`secrets`: the connection credentials a step used, by key)."""
        entries = [step_log(execution_id, r, (secrets or {}).get(r.key, NO_SECRETS)) for r in records]
        await self.emit(execution_id, entries)

    async def attempt_started(self, request: ActionRequest, *, counts: bool) -> None:
        """An action's attempt begins: the rows the interpreter buffered before it, and the step's own row,
        RUNNING from its first attempt (core.runs.rows.ATTEMPT_STARTED), in one transaction."""
        assert request.execution_id is not None
        attempt = running_row(request, live.running())
        if await self._rows.start_attempt(request.execution_id, request.records, attempt, counts=counts):
            await self.emit_steps(request.execution_id, [*request.records, attempt])

    async def attempt_failed(
        self, request: ActionRequest, state: dict[str, Any] | None, error: str, *, with_buffered: bool
    ) -> None:
        """A failed attempt: the row says what comes next (retrying, rate-limited) when it is not the last,
        with the rows buffered before the step when the attempt had not written them."""
        assert request.execution_id is not None
        records = list(request.records) if with_buffered else []
        if state is not None:
            records.append(running_row(request, state, error))
        if records and await self._rows.write_steps(request.execution_id, records):
            await self.emit_steps(request.execution_id, records)

    async def attempt_progressed(self, request: ActionRequest, state: dict[str, Any]) -> None:
        assert request.execution_id is not None
        record = running_row(request, state)
        if await self._rows.write_steps(request.execution_id, [record]):
            await self.emit_steps(request.execution_id, [record])

    async def write_action_result(
        self,
        request: ActionRequest,
        record: StepRecord,
        secrets: Secrets = NO_SECRETS,
        *,
        with_buffered: bool = True,
    ) -> None:
        """Piggy-backed on an action activity: its own row, and the rows buffered before it unless its
        attempt wrote them as it began."""
        assert request.execution_id is not None
        records = [*request.records, record] if with_buffered else [record]
        # an attempt that wrote no row of its own finds one RUNNING only if an earlier attempt, cut by a
        # crash, wrote it: that attempt counts
        bump = record.key if with_buffered and not request.again else None
        if await self._rows.write_steps(request.execution_id, records, bump=bump):
            await self.emit_steps(request.execution_id, records, secrets={record.key: secrets})

    @property
    def database(self) -> AsyncEngine:
        return self._engine

    async def run_started(self, started: ExecutionStarted | None) -> bool:
        """A run's start, when the write at hand carries it (core.contract.FIRST_WRITE_ENGINE: an action
        as it begins, the step rows before a wait, the finish; before the rows, which need the run's row):
        RUNNING, and "Execution started" said once, by the write that moved it. False when the run's
        workflow is gone."""
        if started is None:
            return True
        outcome = await self._rows.mark_started(started)
        if outcome == "gone":
            return False
        self._workflows[started.execution_id] = started.workflow_id
        if outcome == "began":
            count("baton_executions_started", "Runs started")
            await self.emit(
                started.execution_id,
                # at the run's start: the write that carries it may come after steps that ended
                [
                    execution_log(
                        started.execution_id,
                        "info",
                        "Execution started",
                        {"status": "RUNNING"},
                        parse_time(started.started_at),
                    )
                ],
                started.workflow_id,
            )
        return True

    @activity.defn(name=EXECUTION_STARTED_ACTIVITY)
    async def execution_started(self, started: ExecutionStarted) -> None:
        """A run's start as its own local activity (runs of engines before FIRST_WRITE_ENGINE)."""
        await self.run_started(started)

    @activity.defn(name=TAKE_SLOT_ACTIVITY)
    async def take_slot(self, request: SlotRequest) -> SlotPlace:
        place = await self._slots.take(request.execution_id, request.workflow_id, request.key, request.limit)
        return SlotPlace(place.holds, place.place, place.key)

    @activity.defn(name=WRITE_STEPS_ACTIVITY)
    async def write_steps(self, rows: StepRows) -> None:
        if not await self.run_started(rows.started):
            return
        if rows.records and await self._rows.write_steps(rows.execution_id, rows.records):
            await self.emit_steps(rows.execution_id, rows.records)

    @activity.defn(name=LEGACY_RECORD_STEPS_ACTIVITY)
    async def record_steps(self, execution_id: str, records: list[StepRecord]) -> None:
        """`write_steps` as runs started before patch `typed-activities` call it."""
        await self.write_steps(StepRows(execution_id, records))

    @activity.defn(name=EXECUTION_FINISHED_ACTIVITY)
    async def execution_finished(self, finished: ExecutionFinished) -> None:
        await self.run_started(finished.started)  # a deleted workflow: the finish below finds it gone too
        done = await self._rows.finish(finished, read_steps=self._events is not None)
        if finished.concurrency:  # its slot (or its place in the queue) goes to the next run
            await self._slots.release([finished.execution_id])
        if done is None:  # the workflow was deleted
            self._workflows.pop(finished.execution_id, None)
            return
        if self._alerts is not None:
            # before the log entries: a failure to start the alert retries this activity, whose writes above
            # are idempotent, and the entries are then written once
            await self._alerts.after(finished)
        if done.ended:  # the transition happens once, so the counters move once
            succeeded = finished.status == ExecutionStatus.SUCCESS.value
            failed = finished.status in FAILED_STATUSES
            outcome = "completed" if succeeded else "failed" if failed else "cancelled"
            count(f"baton_executions_{outcome}", f"Runs {outcome}", status=finished.status)
        ok = finished.status == ExecutionStatus.SUCCESS.value
        last = execution_log(
            finished.execution_id,
            "info" if ok else "error",
            f"Execution finished: {finished.status}" + (f" ({finished.error})" if finished.error else ""),
            {"status": finished.status, "error": finished.error},
        )
        entries = [step_log(finished.execution_id, r) for r in finished.records]
        await self.emit(finished.execution_id, [*entries, last], finished.workflow_id)
        if self._events is not None and done.ended and done.workspace_id is not None:
            for event in analytics_events(finished, done):
                self._events.add(event)
        self._workflows.pop(finished.execution_id, None)

    @activity.defn(name=PUBLISHED_VERSION_ACTIVITY)
    async def published_version(self, request: VersionRequest) -> PublishedVersion:
        """The latest published version of a workflow (for subworkflow steps)."""
        async with self._engine.connect() as connection:
            target = await version_to_run(connection, request.workflow_id)
        if target is None:
            raise ApplicationError(
                f"workflow {request.workflow_id} has no published version",
                type="NotPublished",
                non_retryable=True,
            )
        return PublishedVersion(
            request.workflow_id, target.workspace_id, target.version, target.definition, target.name
        )

    @activity.defn(name=LEGACY_LOAD_PUBLISHED_VERSION_ACTIVITY)
    async def load_published_version(self, workflow_id: str) -> dict[str, Any]:
        """`published_version` as runs started before patch `typed-activities` call it."""
        version = await self.published_version(VersionRequest(workflow_id))
        return {
            "workflowId": version.workflow_id,
            "workspaceId": version.workspace_id,
            "version": version.version,
            "definition": version.definition,
        }

    def activities(self) -> list[Any]:
        return [
            self.execution_started,
            self.take_slot,
            self.write_steps,
            self.execution_finished,
            self.published_version,
            self.record_steps,
            self.load_published_version,
        ]


def running_row(request: ActionRequest, state: dict[str, Any], error: str | None = None) -> StepRecord:
    """An action step's row while it has not ended: RUNNING, saying what it does (core.runs.live)."""
    assert request.step_key
    assert request.step_id
    return StepRecord(
        request.step_key,
        request.step_id,
        "action",
        ExecutionStatus.RUNNING.value,
        request.input,
        error=error,
        started_at=request.started_at,
        state=state,
        sequence=request.sequence,
    )


def analytics_events(finished: ExecutionFinished, done: FinishedRun) -> list[dict[str, Any]]:
    """`workflow_executed` for the run and `step_failed` for each step that failed (from the rows read in
    the transaction that ended the run, so they are made once)."""
    assert done.workspace_id is not None
    ids = {"workspace_id": done.workspace_id, "workflow_id": finished.workflow_id}
    at = done.completed_at or datetime.now(UTC)
    events = [
        executed_event(
            **ids,
            execution_id=finished.execution_id,
            status=finished.status,
            duration=done.duration,
            step_count=len(done.steps),
            integrations=finished.integrations,
            at=at,
        )
    ]
    events.extend(
        step_failed_event(
            **ids,
            execution_id=finished.execution_id,
            step_id=step.step_id,
            step_type=step.step_type,
            error=step.error,
            at=at,
        )
        for step in done.steps
        if step.status in FAILED_STATUSES
    )
    return events


def live_message(record: StepRecord) -> str:
    """What a step that has not ended is doing, in a sentence (`Step 'fetch' failed attempt 2 of 5: ...`)."""
    state = record.state or {}
    kind, step = state.get("kind"), f"Step '{record.step_id}'"
    if kind == live.RETRYING:
        of = f" of {state['maxAttempts']}" if state.get("maxAttempts") else ""
        when = f"; next attempt at {state['nextAttemptAt']}" if state.get("nextAttemptAt") else ""
        return f"{step} failed attempt {state.get('attempt')}{of}: {record.error}{when}"
    if kind == live.RATE_LIMITED:
        return f"{step} waits for its connection's rate limit until {state.get('resumesAt')}"
    if (wait := parse_wait(state)) is not None:
        return wait.sentence(step)
    return f"{step} is {record.status.lower()}"


# A step's input or output larger than this is not copied into its log entry (the step's row keeps it, and
# the API reads it: core.runs.values); a run with a blob store hands on values up to MAX_VALUE_BYTES. 1 MiB:
# every value a run could hold before is still logged whole.
LOG_VALUE_BYTES = 1024 * 1024


def logged_value(value: Any, secrets: Secrets = NO_SECRETS) -> Any:
    """`value` redacted as a log entry holds it, or `{omitted, size}` past LOG_VALUE_BYTES."""
    size = payload_bytes(value, LOG_VALUE_BYTES)
    if size > LOG_VALUE_BYTES:
        return {"omitted": True, "size": size, "detail": "too large for the log: read it from the step"}
    return redact(value, secrets)


def step_log(execution_id: str, record: StepRecord, secrets: Secrets = NO_SECRETS) -> dict[str, Any]:
    """The seed's log entry for a step: `Step 'Send Email' completed successfully`, with its duration and
    its input and output, secrets redacted (`emit` fills in the workflow)."""
    started, completed = parse_time(record.started_at), parse_time(record.completed_at)
    if record.status == ExecutionStatus.SUCCESS.value:
        level, message = "info", f"Step '{record.step_id}' completed successfully"
    elif record.status in FAILED_STATUSES:
        level, message = "error", f"Step '{record.step_id}' failed: {record.error}"
    else:
        level, message = "warn" if record.error else "info", live_message(record)
    return {
        "id": new_entry_id(),
        "executionId": execution_id,
        "workflowId": None,
        # a step that has not ended is logged when this is written (an attempt beginning, a wait), not at its
        # start: the entries then read in the order things happened
        "timestamp": completed
        or (datetime.now(UTC) if record.state is not None else started)
        or datetime.now(UTC),
        "level": level,
        "message": message,
        "stepId": record.step_id,
        "metadata": {
            "duration": duration_ms(started, completed),
            "input": logged_value(record.input, secrets),
            "output": logged_value(record.output, secrets),
            "key": record.key,
            "sequence": record.sequence,  # the order the step began (entries come in the order steps end)
            "retries": record.retry_count,
            "status": record.status,
            "error": record.error,
            "state": record.state,
        },
    }


def execution_log(
    execution_id: str, level: str, message: str, metadata: dict[str, Any], at: datetime | None = None
) -> dict[str, Any]:
    """A run-level entry (started, finished) at `at` (now by default): its metadata holds the run's status
    (`emit` fills in the workflow)."""
    return {
        "id": new_entry_id(),
        "executionId": execution_id,
        "workflowId": None,
        "timestamp": at or datetime.now(UTC),
        "level": level,
        "message": message,
        "stepId": None,
        "metadata": metadata,
    }
