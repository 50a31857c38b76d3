"""The one owner of a run's rows: `workflow_executions` and `step_executions` (and the Workflow counters
that move when a run ends).

Everything that writes them goes through `ExecutionRows`: the API's PENDING row and its failed start
(core.runs.service), the interpreter's record activities (activities.records), the steps an action
activity writes in its own transaction. Reads for the API are in core.execution_reads.

Every write is idempotent because any activity may run twice: step rows have stable ids (upserts), and
the Workflow counters move only in the transaction that moves the execution from PENDING/RUNNING to a
final status. The statements are written as "update the row with this id, or insert it when there is
none", not `ON CONFLICT (id)`: they work whether the tables are the seed's (primary key `id`) or
partitioned by month (`baton partition`, core.ops.partitions: the parent's key is `(id, created_at)`,
each month keeps `id` unique). The targetless `ON CONFLICT DO NOTHING` settles a race between two first
writes of one row.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.contract import ExecutionFinished, ExecutionStarted, StepRecord, step_record_id
from core.db import jsonb, pg_text
from core.errors import NotFound
from core.models import ExecutionStatus
from core.models.enums import FAILED_STATUSES, OPEN_STATUSES
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.models.tables import WORKFLOW_EXECUTIONS as EXECUTIONS
from core.models.tables import WORKFLOWS

logger = logging.getLogger("baton.records")
FOREIGN_KEY_VIOLATION = "23503"

# Once per id: the API's row before the run exists (asyncpg placeholders: it is written on the driver).
INSERT_PENDING = (
    "INSERT INTO workflow_executions (id, workflow_id, status, trigger_data, context, retry_count) "
    "SELECT $1, $2, 'PENDING', $3::jsonb, $4::jsonb, $5::integer "
    "WHERE NOT EXISTS (SELECT FROM workflow_executions WHERE id = $1) ON CONFLICT DO NOTHING"
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
# A step's retries never count down: attempts counted as they start (ATTEMPT_STARTED, which also counts
# an attempt a crashed worker made) are kept when the end is written with the attempt Temporal numbered.
UPSERT_STEPS = text(
    """
    WITH changed AS (
        UPDATE step_executions SET status = CAST(:status AS execution_status), input = CAST(:input AS jsonb),
            output = CAST(:output AS jsonb), error = :error, started_at = :started_at,
            completed_at = :completed_at, duration = :duration,
            retry_count = greatest(
                retry_count + CASE WHEN :bump AND status = 'RUNNING' THEN 1 ELSE 0 END, :retry_count
            ),
            state = CAST(:state AS jsonb),
            step_key = :step_key
        WHERE id = :id RETURNING 1
    )
    INSERT INTO step_executions (id, execution_id, step_id, step_type, status, input, output, error,
        started_at, completed_at, duration, retry_count, state, step_key)
    SELECT :id, :execution_id, :step_id, :step_type, CAST(:status AS execution_status),
        CAST(:input AS jsonb), CAST(:output AS jsonb), :error, :started_at, :completed_at, :duration,
        :retry_count, CAST(:state AS jsonb), :step_key
    WHERE NOT EXISTS (SELECT FROM changed)
        AND EXISTS (SELECT FROM workflow_executions WHERE id = :execution_id)
    ON CONFLICT DO NOTHING
    """
)
# An action's attempt begins: its row says RUNNING from the first attempt on, and each attempt after the
# first counts one retry (`counts`: false for a call made again after a rate-limit or outage wait, which
# is no retry). A row that already ended (an attempt after the one that succeeded, on a crash) stays.
ATTEMPT_STARTED = text(
    """
    WITH changed AS (
        UPDATE step_executions SET state = CAST(:state AS jsonb),
            retry_count = retry_count + CASE WHEN :counts THEN 1 ELSE 0 END
        WHERE id = :id AND status IN ('PENDING', 'RUNNING') RETURNING 1
    )
    INSERT INTO step_executions (id, execution_id, step_id, step_type, status, input, started_at,
        retry_count, state, step_key)
    SELECT :id, :execution_id, :step_id, 'action', 'RUNNING', CAST(:input AS jsonb), :started_at, 0,
        CAST(:state AS jsonb), :step_key
    WHERE NOT EXISTS (SELECT FROM step_executions WHERE id = :id)
        AND EXISTS (SELECT FROM workflow_executions WHERE id = :execution_id)
    ON CONFLICT DO NOTHING
    """
)


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def duration_ms(started: datetime | None, completed: datetime | None) -> int | None:
    if started is None or completed is None:
        return None
    return max(0, int((completed - started).total_seconds() * 1000))


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


async def upsert_steps(
    connection: AsyncConnection, execution_id: str, records: Sequence[StepRecord], bump: str | None = None
) -> None:
    """Upserts StepExecution rows (one cached statement, executed once per row in one round trip). `bump`:
    the key of an action whose attempt found its row RUNNING without having written it (an earlier attempt,
    cut by a crash, did): that attempt counts one retry."""
    if not records:
        return
    rows = []
    for record in records:
        started, completed = parse_time(record.started_at), parse_time(record.completed_at)
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
                "duration": duration_ms(started, completed),
                "retry_count": record.retry_count,
                "state": jsonb(record.state) if record.state is not None else None,  # SQL NULL
                "step_key": record.key,
                "bump": record.key == bump,
            }
        )
    await connection.execute(UPSERT_STEPS, rows)


async def open_execution_ids(connection: AsyncConnection, workflow_ids: Sequence[str]) -> list[str]:
    """The executions of these workflows that have not ended (PENDING or RUNNING, waiting included)."""
    rows = await connection.execute(
        select(EXECUTIONS.c.id).where(
            EXECUTIONS.c.workflow_id.in_(list(workflow_ids)),
            EXECUTIONS.c.status.in_(OPEN_STATUSES),
        )
    )
    return [row.id for row in rows]


@dataclass(frozen=True)
class StepOutcome:
    step_id: str
    step_type: str
    status: str
    error: str | None


@dataclass(frozen=True)
class FinishedRun:
    """What `finish` did. `ended` is whether this call moved the run to its final status (once per run: a
    retried activity finds it ended and moves no counter); `steps` are read only when asked for."""

    ended: bool
    workspace_id: str | None = None
    duration: int | None = None
    completed_at: datetime | None = None
    steps: list[StepOutcome] = field(default_factory=list)


class ExecutionRows:
    """Writes and the few reads the writers need, on one engine (and, for the webhook hot path, a raw
    asyncpg pool for the PENDING insert)."""

    def __init__(self, engine: AsyncEngine, pool: asyncpg.Pool | None = None) -> None:
        self._engine = engine
        self._pool = pool

    # ------------------------------------------------------------------ before the run (the API)

    async def insert_pending(
        self,
        execution_id: str,
        workflow_id: str,
        trigger_data: Any,
        context: dict[str, Any],
        retry_count: int,
    ) -> None:
        """One autocommitted INSERT, straight on the driver: no ORM, no pool ping (the webhook hot path)."""
        values = (
            execution_id,
            workflow_id,
            jsonb(trigger_data if trigger_data is not None else {}),
            jsonb(context),
            retry_count,
        )
        if self._pool is not None:
            await self._pool.execute(INSERT_PENDING, *values)
            return
        async with self._engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(INSERT_PENDING, *values)

    async def mark_failed_to_start(self, execution_id: str, error: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(EXECUTIONS)
                .where(EXECUTIONS.c.id == execution_id, EXECUTIONS.c.status == ExecutionStatus.PENDING.value)
                .values(status=ExecutionStatus.FAILED.value, error=error, completed_at=datetime.now(UTC))
            )

    async def exists(self, execution_id: str) -> bool:
        async with self._engine.connect() as connection:
            found = await connection.execute(select(EXECUTIONS.c.id).where(EXECUTIONS.c.id == execution_id))
            return found.first() is not None

    async def get(self, execution_id: str) -> Row[Any]:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(EXECUTIONS).where(EXECUTIONS.c.id == execution_id))
            ).first()
        if row is None:
            raise NotFound(f"execution {execution_id} does not exist")
        return row

    async def succeeded_outputs(self, execution_id: str) -> dict[str, Any]:
        """Outputs of steps that ran once and succeeded (loop iterations, which ran many times, re-run):
        what a resumed run reuses."""
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(STEPS.c.step_id, STEPS.c.status, STEPS.c.output).where(
                        STEPS.c.execution_id == execution_id
                    )
                )
            ).all()
        runs = Counter(row.step_id for row in rows)
        return {
            row.step_id: row.output
            for row in rows
            if row.status == ExecutionStatus.SUCCESS.value and runs[row.step_id] == 1
        }

    # ------------------------------------------------------------------ while it runs (the worker)

    async def mark_started(self, started: ExecutionStarted) -> bool:
        """RUNNING (the row is inserted when the API wrote none). False when the workflow is gone."""
        values = {
            "id": started.execution_id,
            "workflow_id": started.workflow_id,
            "trigger_data": jsonb(started.trigger_data if started.trigger_data is not None else {}),
            "context": jsonb(started.context),
            "started_at": parse_time(started.started_at),
        }
        async with rows_of_run(self._engine, started.execution_id) as (connection, deleted):
            await connection.execute(EXECUTION_STARTED, values)
        return not deleted.gone

    async def write_steps(
        self, execution_id: str, records: Sequence[StepRecord], *, bump: str | None = None
    ) -> bool:
        """Upserts step rows in one transaction (`bump`: see upsert_steps). False when the run's workflow
        is gone."""
        async with rows_of_run(self._engine, execution_id) as (connection, deleted):
            await upsert_steps(connection, execution_id, records, bump)
        return not deleted.gone

    async def start_attempt(
        self, execution_id: str, records: Sequence[StepRecord], attempt: StepRecord, *, counts: bool
    ) -> bool:
        """An action's attempt begins: the rows buffered before it, and its own RUNNING row (see
        ATTEMPT_STARTED), in one transaction. False when the run's workflow is gone."""
        async with rows_of_run(self._engine, execution_id) as (connection, deleted):
            await upsert_steps(connection, execution_id, records)
            await connection.execute(
                ATTEMPT_STARTED,
                {
                    "id": step_record_id(execution_id, attempt.key),
                    "execution_id": execution_id,
                    "step_id": attempt.step_id,
                    "input": jsonb(attempt.input if attempt.input is not None else {}),
                    "started_at": parse_time(attempt.started_at),
                    "state": jsonb(attempt.state),
                    "step_key": attempt.key,
                    "counts": counts,
                },
            )
        return not deleted.gone

    async def finish(self, finished: ExecutionFinished, *, read_steps: bool = False) -> FinishedRun | None:
        """Writes the last step rows and, once, the run's final status, result, error, completion and
        duration with the Workflow's counters, in one transaction. None when the workflow is gone."""
        completed = parse_time(finished.completed_at)
        outcome = FinishedRun(ended=False)
        async with rows_of_run(self._engine, finished.execution_id) as (connection, deleted):
            await upsert_steps(connection, finished.execution_id, finished.records)
            open_row = (
                await connection.execute(
                    select(EXECUTIONS.c.started_at)
                    .where(EXECUTIONS.c.id == finished.execution_id, EXECUTIONS.c.status.in_(OPEN_STATUSES))
                    .with_for_update()
                )
            ).first()
            if open_row is not None:
                # The run ends no earlier than its last step: the interpreter's clock stands still while
                # a workflow task retries local activities (an action's attempts a few seconds apart).
                last_step = await connection.scalar(
                    select(func.max(STEPS.c.completed_at)).where(
                        STEPS.c.execution_id == finished.execution_id
                    )
                )
                if last_step is not None and (completed is None or last_step > completed):
                    completed = last_step
                duration = duration_ms(open_row.started_at, completed)
                await connection.execute(
                    update(EXECUTIONS)
                    .where(EXECUTIONS.c.id == finished.execution_id)
                    .values(
                        status=finished.status,
                        result=json.loads(jsonb(finished.result)),
                        error=pg_text(finished.error),
                        completed_at=completed,
                        duration=duration,
                    )
                )
                succeeded = finished.status == ExecutionStatus.SUCCESS.value
                failed = finished.status in FAILED_STATUSES
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
                steps = await self._step_outcomes(connection, finished.execution_id) if read_steps else []
                outcome = FinishedRun(True, workspace_id, duration, completed, steps)
        return None if deleted.gone else outcome

    @staticmethod
    async def _step_outcomes(connection: AsyncConnection, execution_id: str) -> list[StepOutcome]:
        rows = (
            await connection.execute(
                select(STEPS.c.step_id, STEPS.c.step_type, STEPS.c.status, STEPS.c.error).where(
                    STEPS.c.execution_id == execution_id
                )
            )
        ).all()
        return [StepOutcome(r.step_id, r.step_type, r.status, r.error) for r in rows]

    # ------------------------------------------------------------------ who a run belongs to

    async def workflow_of(self, execution_id: str) -> str | None:
        async with self._engine.connect() as connection:
            workflow_id: str | None = await connection.scalar(
                select(EXECUTIONS.c.workflow_id).where(EXECUTIONS.c.id == execution_id)
            )
        return workflow_id

    async def workspace_of(self, workflow_id: str) -> str | None:
        async with self._engine.connect() as connection:
            workspace_id: str | None = await connection.scalar(
                select(WORKFLOWS.c.workspace_id).where(WORKFLOWS.c.id == workflow_id)
            )
        return workspace_id
