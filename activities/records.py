"""Activities that keep the seed's execution rows true: WorkflowExecution, StepExecution, Workflow counters.

Every write is idempotent because any activity may run twice: step rows have stable ids (upserts), and the
Workflow counters move only in the transaction that moves the execution from PENDING/RUNNING to a final
status. Status changes are published on Redis `execution:{executionId}` for live views (best effort).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions import StepRecorder
from activities.metrics import count
from core.analytics import executed_event, step_failed_event
from core.contract import (
    EXECUTION_FINISHED_ACTIVITY,
    EXECUTION_STARTED_ACTIVITY,
    LOAD_PUBLISHED_VERSION_ACTIVITY,
    RECORD_STEPS_ACTIVITY,
    ActionRequest,
    ExecutionFinished,
    ExecutionStarted,
    StepRecord,
    step_record_id,
)
from core.db import jsonb, pg_text
from core.live import live_event, new_entry_id
from core.logstore import LogWriters
from core.models import ExecutionStatus
from core.models.enums import FAILED_STATUSES, OPEN_STATUSES
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.models.tables import WORKFLOW_EXECUTIONS as EXECUTIONS
from core.models.tables import WORKFLOWS
from core.redaction import NO_SECRETS, Secrets, redact
from core.redis_keys import RedisKeys
from core.workflows import version_to_run

logger = logging.getLogger("baton.records")
FOREIGN_KEY_VIOLATION = "23503"


def _parent_deleted(exc: IntegrityError) -> bool:
    """The row points at a workflow or execution that is no longer there."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return state == FOREIGN_KEY_VIOLATION


class Deleted:
    """Whether a run's rows turned out to have no workflow or execution left to belong to."""

    def __init__(self) -> None:
        self.gone = False


@asynccontextmanager
async def rows_of_run(
    engine: AsyncEngine, execution_id: str
) -> AsyncIterator[tuple[AsyncConnection, Deleted]]:
    """One transaction writing a run's rows. When the run's workflow (or the execution) was deleted while the
    run went on (`DELETE /workflows/{id}` cascades to its executions and steps), the rows have nothing to
    belong to: they are dropped, once, instead of failing the record activity, which Temporal would retry
    without end (and a worker shutting down waits for its local activities)."""
    deleted = Deleted()
    try:
        async with engine.begin() as connection:
            yield connection, deleted
    except IntegrityError as exc:
        if not _parent_deleted(exc):
            raise
        deleted.gone = True
        logger.info("execution %s: its workflow was deleted; its rows are not written", execution_id)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _duration_ms(started: datetime | None, completed: datetime | None) -> int | None:
    if started is None or completed is None:
        return None
    return max(0, int((completed - started).total_seconds() * 1000))


async def write_step_records(
    connection: AsyncConnection, execution_id: str, records: Sequence[StepRecord]
) -> None:
    """Upserts StepExecution rows (one cached statement, executed once per row in one round trip)."""
    if not records:
        return
    rows = []
    for record in records:
        started, completed = _time(record.started_at), _time(record.completed_at)
        rows.append(
            {
                "id": step_record_id(execution_id, record.key),
                "execution_id": execution_id,
                "step_id": record.step_id,
                "step_type": record.step_type,
                "status": record.status,
                "input": jsonb(record.input if record.input is not None else {}),
                "output": jsonb(record.output),
                "error": pg_text(record.error),
                "started_at": started,
                "completed_at": completed,
                "duration": _duration_ms(started, completed),
                "retry_count": record.retry_count,
            }
        )
    await connection.execute(UPSERT_STEPS, rows)


# Upserts written as "update the row with this id, or insert it when there is none", not `ON CONFLICT (id)`:
# the same statements work whether the table is the seed's (primary key `id`) or partitioned by month
# (`baton partition`, core.partitions: the parent's key is `(id, created_at)`, each month keeps `id`
# unique). The targetless `ON CONFLICT DO NOTHING` settles a race between two first writes of one row.
UPSERT_STEPS = text(
    """
    WITH changed AS (
        UPDATE step_executions SET status = CAST(:status AS execution_status), input = CAST(:input AS jsonb),
            output = CAST(:output AS jsonb), error = :error, started_at = :started_at,
            completed_at = :completed_at, duration = :duration, retry_count = :retry_count
        WHERE id = :id RETURNING 1
    )
    INSERT INTO step_executions (id, execution_id, step_id, step_type, status, input, output, error,
        started_at, completed_at, duration, retry_count)
    SELECT :id, :execution_id, :step_id, :step_type, CAST(:status AS execution_status),
        CAST(:input AS jsonb), CAST(:output AS jsonb), :error, :started_at, :completed_at, :duration,
        :retry_count
    WHERE NOT EXISTS (SELECT FROM changed)
        AND EXISTS (SELECT FROM workflow_executions WHERE id = :execution_id)
    ON CONFLICT DO NOTHING
    """
)
# RUNNING once: inserts the row when the API wrote none (schedules, child runs), else moves an open row.
EXECUTION_STARTED = text(
    """
    WITH changed AS (
        UPDATE workflow_executions SET status = 'RUNNING', started_at = coalesce(started_at, :started_at)
        WHERE id = :id AND status IN ('PENDING', 'RUNNING') RETURNING 1
    )
    INSERT INTO workflow_executions (id, workflow_id, status, trigger_data, context, started_at)
    SELECT :id, :workflow_id, 'RUNNING', CAST(:trigger_data AS jsonb), CAST(:context AS jsonb), :started_at
    WHERE NOT EXISTS (SELECT FROM workflow_executions WHERE id = :id)
    ON CONFLICT DO NOTHING
    """
)


class RecordActivities(StepRecorder):
    def __init__(
        self, engine: AsyncEngine, redis: Redis, keys: RedisKeys, writers: LogWriters | None = None
    ) -> None:
        self._engine = engine
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
            async with self._engine.connect() as connection:
                self._workflows[execution_id] = await connection.scalar(
                    select(EXECUTIONS.c.workflow_id).where(EXECUTIONS.c.id == execution_id)
                )
        workflow_id = workflow_id or self._workflows.get(execution_id)
        if workflow_id is not None and workflow_id not in self._workspaces:
            if len(self._workspaces) > 10_000:
                self._workspaces.clear()
            async with self._engine.connect() as connection:
                self._workspaces[workflow_id] = await connection.scalar(
                    select(WORKFLOWS.c.workspace_id).where(WORKFLOWS.c.id == workflow_id)
                )
        return workflow_id, self._workspaces.get(workflow_id) if workflow_id else None

    async def emit(
        self, execution_id: str, entries: list[dict[str, Any]], workflow_id: str | None = None
    ) -> None:
        """Writes log entries (batched: never fails the step) and publishes their live events, in order, on
        `execution:{id}` and on the workspace's channel, in one round trip (best effort: the rows are the
        truth)."""
        if not entries:
            return
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

    async def write_action_result(
        self, request: ActionRequest, record: StepRecord, secrets: Secrets = NO_SECRETS
    ) -> None:
        """Piggy-backed on an action activity: its own row plus the rows the interpreter buffered."""
        assert request.execution_id is not None
        records = [*request.records, record]
        async with rows_of_run(self._engine, request.execution_id) as (connection, deleted):
            await write_step_records(connection, request.execution_id, records)
        if deleted.gone:
            return
        await self.emit_steps(request.execution_id, records, secrets={record.key: secrets})

    @activity.defn(name=EXECUTION_STARTED_ACTIVITY)
    async def execution_started(self, started: ExecutionStarted) -> None:
        values = {
            "id": started.execution_id,
            "workflow_id": started.workflow_id,
            "trigger_data": jsonb(started.trigger_data if started.trigger_data is not None else {}),
            "context": jsonb(started.context),
            "started_at": _time(started.started_at),
        }
        async with rows_of_run(self._engine, started.execution_id) as (connection, deleted):
            await connection.execute(EXECUTION_STARTED, values)
        if deleted.gone:
            return
        self._workflows[started.execution_id] = started.workflow_id
        count("baton_executions_started", "Runs started")
        await self.emit(
            started.execution_id,
            [execution_log(started.execution_id, "info", "Execution started", {"status": "RUNNING"})],
            started.workflow_id,
        )

    @activity.defn(name=RECORD_STEPS_ACTIVITY)
    async def record_steps(self, execution_id: str, records: list[StepRecord]) -> None:
        async with rows_of_run(self._engine, execution_id) as (connection, deleted):
            await write_step_records(connection, execution_id, records)
        if not deleted.gone:
            await self.emit_steps(execution_id, records)

    @activity.defn(name=EXECUTION_FINISHED_ACTIVITY)
    async def execution_finished(self, finished: ExecutionFinished) -> None:
        completed = _time(finished.completed_at)
        events: list[dict[str, Any]] = []
        async with rows_of_run(self._engine, finished.execution_id) as (connection, deleted):
            await write_step_records(connection, finished.execution_id, finished.records)
            open_row = (
                await connection.execute(
                    select(EXECUTIONS.c.started_at)
                    .where(EXECUTIONS.c.id == finished.execution_id, EXECUTIONS.c.status.in_(OPEN_STATUSES))
                    .with_for_update()
                )
            ).first()
            if open_row is not None:
                await connection.execute(
                    update(EXECUTIONS)
                    .where(EXECUTIONS.c.id == finished.execution_id)
                    .values(
                        status=finished.status,
                        result=json.loads(jsonb(finished.result)),
                        error=pg_text(finished.error),
                        completed_at=completed,
                        duration=_duration_ms(open_row.started_at, completed),
                    )
                )
                # the transition happens once, so the counters move once
                succeeded = finished.status == ExecutionStatus.SUCCESS.value
                failed = finished.status in FAILED_STATUSES
                outcome = "completed" if succeeded else "failed" if failed else "cancelled"
                count(f"baton_executions_{outcome}", f"Runs {outcome}", status=finished.status)
                workspace_id = await connection.scalar(
                    update(WORKFLOWS)
                    .where(WORKFLOWS.c.id == finished.workflow_id)
                    .values(
                        total_executions=WORKFLOWS.c.total_executions + 1,
                        successful_executions=WORKFLOWS.c.successful_executions + int(succeeded),
                        failed_executions=WORKFLOWS.c.failed_executions + int(failed),
                        last_executed_at=func.greatest(WORKFLOWS.c.last_executed_at, completed),
                    )
                    .returning(WORKFLOWS.c.workspace_id)
                )
                if self._events is not None and workspace_id is not None:
                    events = await self._analytics_events(
                        connection,
                        finished,
                        workspace_id,
                        _duration_ms(open_row.started_at, completed),
                        completed or datetime.now(UTC),
                    )
        if deleted.gone:
            self._workflows.pop(finished.execution_id, None)
            return
        ok = finished.status == ExecutionStatus.SUCCESS.value
        last = execution_log(
            finished.execution_id,
            "info" if ok else "error",
            f"Execution finished: {finished.status}" + (f" ({finished.error})" if finished.error else ""),
            {"status": finished.status, "error": finished.error},
        )
        entries = [step_log(finished.execution_id, r) for r in finished.records]
        await self.emit(finished.execution_id, [*entries, last], finished.workflow_id)
        for event in events:
            assert self._events is not None
            self._events.add(event)
        self._workflows.pop(finished.execution_id, None)

    async def _analytics_events(
        self,
        connection: AsyncConnection,
        finished: ExecutionFinished,
        workspace_id: str,
        duration: int | None,
        at: datetime,
    ) -> list[dict[str, Any]]:
        """`workflow_executed` for the run and `step_failed` for each step that failed (read in the
        transaction that finishes the run, so they are made once)."""
        steps = (
            await connection.execute(
                select(STEPS.c.step_id, STEPS.c.step_type, STEPS.c.status, STEPS.c.error).where(
                    STEPS.c.execution_id == finished.execution_id
                )
            )
        ).all()
        ids = {"workspace_id": workspace_id, "workflow_id": finished.workflow_id}
        events = [
            executed_event(
                **ids,
                execution_id=finished.execution_id,
                status=finished.status,
                duration=duration,
                step_count=len(steps),
                integrations=finished.integrations,
                at=at,
            )
        ]
        for step in steps:
            if step.status in FAILED_STATUSES:
                events.append(
                    step_failed_event(
                        **ids,
                        execution_id=finished.execution_id,
                        step_id=step.step_id,
                        step_type=step.step_type,
                        error=step.error,
                        at=at,
                    )
                )
        return events

    @activity.defn(name=LOAD_PUBLISHED_VERSION_ACTIVITY)
    async def load_published_version(self, workflow_id: str) -> dict[str, Any]:
        """The latest published version of a workflow (for subworkflow steps)."""
        async with self._engine.connect() as connection:
            target = await version_to_run(connection, workflow_id)
        if target is None:
            raise ApplicationError(
                f"workflow {workflow_id} has no published version", type="NotPublished", non_retryable=True
            )
        return {
            "workflowId": workflow_id,
            "workspaceId": target.workspace_id,
            "version": target.version,
            "definition": target.definition,
        }

    def activities(self) -> list[Any]:
        return [
            self.execution_started,
            self.record_steps,
            self.execution_finished,
            self.load_published_version,
        ]


def step_log(execution_id: str, record: StepRecord, secrets: Secrets = NO_SECRETS) -> dict[str, Any]:
    """The seed's log entry for a step: `Step 'Send Email' completed successfully`, with its duration and
    its input and output, secrets redacted (`emit` fills in the workflow)."""
    started, completed = _time(record.started_at), _time(record.completed_at)
    if record.status == ExecutionStatus.SUCCESS.value:
        level, message = "info", f"Step '{record.step_id}' completed successfully"
    elif record.status in FAILED_STATUSES:
        level, message = "error", f"Step '{record.step_id}' failed: {record.error}"
    else:
        level, message = (
            "warn" if record.error else "info",
            f"Step '{record.step_id}' is {record.status.lower()}",
        )
    return {
        "id": new_entry_id(),
        "executionId": execution_id,
        "workflowId": None,
        "timestamp": completed or started or datetime.now(UTC),
        "level": level,
        "message": message,
        "stepId": record.step_id,
        "metadata": {
            "duration": _duration_ms(started, completed),
            "input": redact(record.input, secrets),
            "output": redact(record.output, secrets),
            "key": record.key,
            "retries": record.retry_count,
            "status": record.status,
            "error": record.error,
        },
    }


def execution_log(execution_id: str, level: str, message: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A run-level entry (started, finished): its metadata holds the run's status (`emit` fills in the
    workflow)."""
    return {
        "id": new_entry_id(),
        "executionId": execution_id,
        "workflowId": None,
        "timestamp": datetime.now(UTC),
        "level": level,
        "message": message,
        "stepId": None,
        "metadata": metadata,
    }
