"""The one owner of a run's rows: `workflow_executions` and `step_executions` (and the Workflow counters
that move when a run ends).

Everything that writes them goes through `ExecutionRows`: the API's PENDING row and its failed start
(core.runs.starts), the interpreter's record activities (activities.records), the steps an action
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
from typing import Any, Literal

import asyncpg
from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.contract import ExecutionFinished, ExecutionStarted, StepRecord, step_record_id
from core.db import Statement, driver, jsonb, pg_text
from core.errors import NotFound
from core.models import ExecutionStatus
from core.models.enums import FAILED_STATUSES, OPEN_STATUSES
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.models.tables import WORKFLOW_EXECUTIONS as EXECUTIONS
from core.models.tables import WORKFLOWS

logger = logging.getLogger("baton.records")

# Once per id: the API's row before the run exists (asyncpg placeholders: it is written on the driver).
INSERT_PENDING = (
    "INSERT INTO workflow_executions (id, workflow_id, status, trigger_data, context, retry_count) "
    "SELECT $1, $2, 'PENDING', $3::jsonb, $4::jsonb, $5::integer "
    "WHERE NOT EXISTS (SELECT FROM workflow_executions WHERE id = $1) ON CONFLICT DO NOTHING"
)
# RUNNING once: inserts the row when the API wrote none (schedules, child runs), else moves an open row;
# `began` says whether this call did it (a row PENDING or absent before), so "Execution started" is said once
# however many writes carry the start (core.contract.FIRST_WRITE_ENGINE).
EXECUTION_STARTED = Statement.of(
    """
    WITH before AS (SELECT status FROM workflow_executions WHERE id = :id),
    changed AS (
        UPDATE workflow_executions SET status = 'RUNNING', started_at = coalesce(started_at, :started_at)
        WHERE id = :id AND status IN ('PENDING', 'RUNNING') RETURNING 1
    ),
    inserted AS (
        INSERT INTO workflow_executions (id, workflow_id, status, trigger_data, context, started_at)
        SELECT :id, :workflow_id, 'RUNNING', CAST(:trigger_data AS jsonb), CAST(:context AS jsonb),
            :started_at
        WHERE NOT EXISTS (SELECT FROM workflow_executions WHERE id = :id)
        ON CONFLICT DO NOTHING RETURNING 1
    )
    SELECT EXISTS (SELECT FROM inserted)
        OR (EXISTS (SELECT FROM changed) AND (SELECT status FROM before) = 'PENDING') AS began
    """
)
# A step's retries never count down: attempts counted as they start (ATTEMPT_STARTED, which also counts
# an attempt a crashed worker made) are kept when the end is written with the attempt Temporal numbered.
UPSERT_STEPS = Statement.of(
    """
    WITH changed AS (
        UPDATE step_executions SET status = CAST(:status AS execution_status), input = CAST(:input AS jsonb),
            output = CAST(:output AS jsonb), error = :error, started_at = :started_at,
            completed_at = :completed_at, duration = :duration,
            retry_count = greatest(
                retry_count + CASE WHEN :bump AND status = 'RUNNING' THEN 1 ELSE 0 END, :retry_count
            ),
            state = CAST(:state AS jsonb),
            step_key = :step_key, sequence = coalesce(:sequence, sequence)
        WHERE id = :id RETURNING 1
    )
    INSERT INTO step_executions (id, execution_id, step_id, step_type, status, input, output, error,
        started_at, completed_at, duration, retry_count, state, step_key, sequence)
    SELECT :id, :execution_id, :step_id, :step_type, CAST(:status AS execution_status),
        CAST(:input AS jsonb), CAST(:output AS jsonb), :error, :started_at, :completed_at, :duration,
        :retry_count, CAST(:state AS jsonb), :step_key, :sequence
    WHERE NOT EXISTS (SELECT FROM changed)
        AND EXISTS (SELECT FROM workflow_executions WHERE id = :execution_id)
    ON CONFLICT DO NOTHING
    """
)
# An action's attempt begins: its row says RUNNING from the first attempt on, and each attempt after the
# first counts one retry (`counts`: false for a call made again after a rate-limit or outage wait, which
# is no retry). A row that already ended (an attempt after the one that succeeded, on a crash) stays.
ATTEMPT_STARTED = Statement.of(
    """
    WITH changed AS (
        UPDATE step_executions SET state = CAST(:state AS jsonb),
            retry_count = retry_count + CASE WHEN :counts THEN 1 ELSE 0 END
        WHERE id = :id AND status IN ('PENDING', 'RUNNING') RETURNING 1
    )
    INSERT INTO step_executions (id, execution_id, step_id, step_type, status, input, started_at,
        retry_count, state, step_key, sequence)
    SELECT :id, :execution_id, :step_id, 'action', 'RUNNING', CAST(:input AS jsonb), :started_at, 0,
        CAST(:state AS jsonb), :step_key, :sequence
    WHERE NOT EXISTS (SELECT FROM step_executions WHERE id = :id)
        AND EXISTS (SELECT FROM workflow_executions WHERE id = :execution_id)
    ON CONFLICT DO NOTHING
    """
)
# A run ends, once: the open row moves to its final status (the row lock, re-checked under READ COMMITTED,
# lets one of two racing finishes through) and the Workflow's counters move in the same statement. It ends
# no earlier than its last step: the interpreter's clock stands still while a workflow task retries local
# activities (an action's attempts a few seconds apart). `duration` is NULL when either end is unknown.
FINISH = Statement.of(
    """
    WITH ended AS (
        UPDATE workflow_executions AS e SET status = CAST(:status AS execution_status),
            result = CAST(:result AS jsonb), error = :error, completed_at = c.at,
            duration = CASE WHEN c.at >= e.started_at
                THEN CAST(floor(extract(epoch FROM c.at - e.started_at) * 1000) AS integer)
                WHEN c.at < e.started_at THEN 0 END
        FROM (
            SELECT greatest(
                CAST(:completed_at AS timestamptz),
                (SELECT max(completed_at) FROM step_executions WHERE execution_id = :id)
            ) AS at
        ) AS c
        WHERE e.id = :id AND e.status IN ('PENDING', 'RUNNING')
        RETURNING e.completed_at, e.duration
    ),
    counted AS (
        UPDATE workflows SET total_executions = total_executions + 1,
            successful_executions = successful_executions + :succeeded,
            failed_executions = failed_executions + :failed,
            last_executed_at = greatest(last_executed_at, (SELECT completed_at FROM ended))
        WHERE id = :workflow_id AND EXISTS (SELECT FROM ended)
        RETURNING workspace_id
    )
    SELECT EXISTS (SELECT FROM ended) AS ended,
        (SELECT completed_at FROM ended) AS completed_at,
        (SELECT duration FROM ended) AS duration,
        (SELECT workspace_id FROM counted) AS workspace_id,
        CASE WHEN :read_steps AND EXISTS (SELECT FROM ended) THEN (
            SELECT json_agg(json_build_array(step_id, step_type, status, error))
            FROM step_executions WHERE execution_id = :id
        ) END AS steps
    """
)


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def duration_ms(started: datetime | None, completed: datetime | None) -> int | None:
    if started is None or completed is None:
        return None
    return max(0, int((completed - started).total_seconds() * 1000))


@asynccontextmanager
async def rows_of_run(
    engine: AsyncEngine, execution_id: str
) -> AsyncIterator[tuple[asyncpg.Connection, Deleted]]:
    """The driver connection that writes a run's rows. When the run's workflow (or the execution) was deleted
    while the run went on (`DELETE /workflows/{id}` cascades to its executions and steps), the rows have
    nothing to belong to: they are dropped, once, instead of failing the record activity, which Temporal
    would retry without end (and a worker shutting down waits for its local activities)."""
    deleted = Deleted()
    try:
        async with driver(engine) as connection:
            yield connection, deleted
    except asyncpg.ForeignKeyViolationError:
        deleted.gone = True
        logger.info("execution %s: its workflow was deleted; its rows are not written", execution_id)


class Deleted:
    """Whether a run's rows turned out to have no workflow or execution left to belong to."""

    def __init__(self) -> None:
        self.gone = False


def step_rows(
    execution_id: str, records: Sequence[StepRecord], bump: str | None = None
) -> list[tuple[Any, ...]]:
    """UPSERT_STEPS's arguments for each row. `bump`: the key of an action whose attempt found its row
    RUNNING without having written it (an earlier attempt, cut by a crash, did): that attempt counts one
    retry."""
    rows = []
    for record in records:
        started, completed = parse_time(record.started_at), parse_time(record.completed_at)
        rows.append(
            UPSERT_STEPS.args(
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
                    "sequence": record.sequence,
                    "bump": record.key == bump,
                }
            )
        )
    return rows


async def upsert_steps(
    connection: asyncpg.Connection, execution_id: str, records: Sequence[StepRecord], bump: str | None = None
) -> None:
    """Upserts StepExecution rows: one prepared statement, all rows in one round trip (atomic)."""
    if records:
        await connection.executemany(UPSERT_STEPS.sql, step_rows(execution_id, records, bump))


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
        async with driver(self._engine) as connection:
            await connection.execute(INSERT_PENDING, *values)

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

    async def mark_started(self, started: ExecutionStarted) -> Literal["began", "already", "gone"]:
        """RUNNING (the row is inserted when the API wrote none): "began" when this call moved it, "already"
        when an earlier one had (or the run has ended), "gone" when the workflow was deleted."""
        values = {
            "id": started.execution_id,
            "workflow_id": started.workflow_id,
            "trigger_data": jsonb(started.trigger_data if started.trigger_data is not None else {}),
            "context": jsonb(started.context),
            "started_at": parse_time(started.started_at),
        }
        began = False
        async with rows_of_run(self._engine, started.execution_id) as (connection, deleted):
            began = bool(await connection.fetchval(EXECUTION_STARTED.sql, *EXECUTION_STARTED.args(values)))
        return "gone" if deleted.gone else "began" if began else "already"

    async def write_steps(
        self, execution_id: str, records: Sequence[StepRecord], *, bump: str | None = None
    ) -> bool:
        """Upserts step rows, atomically (`bump`: see step_rows). False when the run's workflow is gone."""
        async with rows_of_run(self._engine, execution_id) as (connection, deleted):
            await upsert_steps(connection, execution_id, records, bump)
        return not deleted.gone

    async def start_attempt(
        self, execution_id: str, records: Sequence[StepRecord], attempt: StepRecord, *, counts: bool
    ) -> bool:
        """An action's attempt begins: the rows buffered before it, then its own RUNNING row (see
        ATTEMPT_STARTED). Each write is idempotent, so a crash between the two is mended by the attempt
        Temporal makes again. False when the run's workflow is gone."""
        values = {
            "id": step_record_id(execution_id, attempt.key),
            "execution_id": execution_id,
            "step_id": attempt.step_id,
            "input": jsonb(attempt.input if attempt.input is not None else {}),
            "started_at": parse_time(attempt.started_at),
            "state": jsonb(attempt.state),
            "step_key": attempt.key,
            "sequence": attempt.sequence,
            "counts": counts,
        }
        async with rows_of_run(self._engine, execution_id) as (connection, deleted):
            await upsert_steps(connection, execution_id, records)
            await connection.execute(ATTEMPT_STARTED.sql, *ATTEMPT_STARTED.args(values))
        return not deleted.gone

    async def finish(self, finished: ExecutionFinished, *, read_steps: bool = False) -> FinishedRun | None:
        """Writes the last step rows, then, once, the run's final status, result, error, completion and
        duration with the Workflow's counters (FINISH): two round trips, each atomic; the rows first, so
        whoever sees the run ended sees its steps. None when the workflow is gone."""
        values = {
            "id": finished.execution_id,
            "workflow_id": finished.workflow_id,
            "status": finished.status,
            "result": jsonb(finished.result),
            "error": pg_text(finished.error),
            "completed_at": parse_time(finished.completed_at),
            "succeeded": int(finished.status == ExecutionStatus.SUCCESS.value),
            "failed": int(finished.status in FAILED_STATUSES),
            "read_steps": read_steps,
        }
        async with rows_of_run(self._engine, finished.execution_id) as (connection, deleted):
            await upsert_steps(connection, finished.execution_id, finished.records)
            row = await connection.fetchrow(FINISH.sql, *FINISH.args(values))
        if deleted.gone:
            return None
        assert row is not None
        if not row["ended"]:
            return FinishedRun(ended=False)
        steps = row["steps"] or []  # decoded by the engine's JSON codec (core.db.driver)
        steps = [StepOutcome(*step) for step in (json.loads(steps) if isinstance(steps, str) else steps)]
        return FinishedRun(True, row["workspace_id"], row["duration"], row["completed_at"], steps)

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
