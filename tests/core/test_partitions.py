"""`baton partition` on a database with rows in it: every row stays readable, the writes the API and the
worker make still happen once per id, deleting a run still deletes its steps, the move can be run again,
and retention then drops whole months past their time (never one holding a run still going)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from core.contract import ExecutionFinished, ExecutionStarted, StepRecord
from core.logstore import PostgresLogStore
from core.ops.partitions import Partitions, add_months, month_start
from core.ops.retention import Retention
from core.runs.rows import INSERT_PENDING, ExecutionRows
from core.settings import Settings
from tests.core.test_retention import audit, execution, workspace_on

NOW = datetime.now(UTC)


async def where(db: asyncpg.Connection, table: str, row_id: str) -> str:
    return str(await db.fetchval(f"SELECT tableoid::regclass::text FROM {table} WHERE id = $1", row_id))


async def step_row(db: asyncpg.Connection, execution_id: str, created: datetime) -> None:
    await db.execute(
        "INSERT INTO step_executions (execution_id, step_id, step_type, status, input, created_at) "
        "VALUES ($1, 'a', 'set', 'SUCCESS', '{}', $2)",
        execution_id,
        created,
    )


async def dated_execution(db: asyncpg.Connection, workflow_id: str, created: datetime, status: str) -> str:
    execution_id = str(
        await db.fetchval(
            "INSERT INTO workflow_executions (workflow_id, status, trigger_data, created_at) "
            "VALUES ($1, $2, '{}', $3) RETURNING id",
            workflow_id,
            status,
            created,
        )
    )
    await step_row(db, execution_id, created)
    return execution_id


async def test_a_live_database_moves_to_monthly_partitions_and_keeps_working(
    db: asyncpg.Connection, engine: AsyncEngine
) -> None:
    workspace, workflow = await workspace_on(db, "FREE")
    old = [await execution(db, workflow, days) for days in (0, 40, 400)]
    for days in (2, 500):
        await audit(db, workspace, days)
    lines: list[str] = []
    partitions = Partitions(engine, lines.append, months_ahead=2)

    assert await partitions.convert(NOW) == ["workflow_executions", "step_executions", "audit_logs"]

    boundary = add_months(month_start(NOW), 1)
    if boundary - NOW < timedelta(days=1):
        boundary = add_months(boundary, 1)
    status = await partitions.status()
    for table in ("workflow_executions", "step_executions", "audit_logs"):
        parts = status[table]
        assert parts is not None
        assert [p.name for p in parts] == [
            f"{table}_before_{boundary:%Y_%m}",
            f"{table}_{boundary:%Y_%m}",
            f"{table}_{add_months(boundary, 1):%Y_%m}",
            f"{table}_default",
        ]
    assert any("building a unique index on (id, created_at)" in line for line in lines)
    # every row is where it was, under the seed's names
    assert await db.fetchval("SELECT count(*) FROM workflow_executions WHERE id = ANY($1)", old) == 3
    assert await db.fetchval("SELECT count(*) FROM step_executions") == 3
    assert await db.fetchval("SELECT count(*) FROM audit_logs") == 2
    indexes = {r["indexname"] for r in await db.fetch("SELECT indexname FROM pg_indexes")}
    for name in (
        "workflow_executions_pkey",
        "idx_executions_workflow_created",
        "idx_executions_created",
        "step_executions_execution_id_idx",
        "idx_audit_workspace_created",
    ):
        assert name in indexes

    # the API's PENDING row and the worker's RUNNING and step upserts: once per id, now in a month
    new_id = "0b0e9d7c-0000-4000-8000-000000000001"
    for _ in range(2):
        await db.execute(INSERT_PENDING, new_id, workflow, "{}", "{}", 0)
    rows = ExecutionRows(engine)
    started = ExecutionStarted(new_id, workflow, {}, NOW.isoformat())
    assert [await rows.mark_started(started) for _ in range(2)] == ["began", "already"]
    row = await db.fetchrow("SELECT status, started_at FROM workflow_executions WHERE id = $1", new_id)
    assert (row["status"], row["started_at"]) == ("RUNNING", NOW)
    step = StepRecord("s", "s", "set", "RUNNING", {}, started_at=NOW.isoformat())
    assert await rows.write_steps(new_id, [step])
    done = replace(
        step, status="SUCCESS", output={"n": 1}, completed_at=(NOW + timedelta(seconds=1)).isoformat()
    )
    assert await rows.write_steps(new_id, [done])
    steps = await db.fetch("SELECT status, output FROM step_executions WHERE execution_id = $1", new_id)
    assert [(s["status"], s["output"]) for s in steps] == [("SUCCESS", '{"n": 1}')]
    # the run ends once, in its month, its workflow's counters moved once
    before = await db.fetchval("SELECT total_executions FROM workflows WHERE id = $1", workflow)
    finished = ExecutionFinished(new_id, workflow, "SUCCESS", NOW.isoformat(), result={"n": 1})
    first, again = await rows.finish(finished, read_steps=True), await rows.finish(finished)
    assert first is not None
    assert again is not None
    assert (first.ended, first.duration, again.ended) == (True, 1000, False)  # it ends with its last step
    assert [(s.step_id, s.status) for s in first.steps] == [("s", "SUCCESS")]
    ended = await db.fetchrow(
        "SELECT status, duration, result FROM workflow_executions WHERE id = $1", new_id
    )
    assert (ended["status"], ended["duration"], ended["result"]) == ("SUCCESS", 1000, '{"n": 1}')
    assert await db.fetchval("SELECT total_executions FROM workflows WHERE id = $1", workflow) == before + 1
    assert await where(db, "workflow_executions", new_id) == f"workflow_executions_before_{boundary:%Y_%m}"
    # rows of a month go to its partition; an id stays unique within its month
    later = await dated_execution(db, workflow, boundary + timedelta(days=3), "SUCCESS")
    assert await where(db, "workflow_executions", later) == f"workflow_executions_{boundary:%Y_%m}"
    try:
        await db.execute(
            "INSERT INTO workflow_executions (id, workflow_id, trigger_data, created_at) "
            "VALUES ($1, $2, '{}', $3)",
            later,
            workflow,
            boundary + timedelta(days=4),
        )
    except asyncpg.UniqueViolationError:
        pass
    else:
        raise AssertionError("a second row with the same id was accepted in one month")
    # deleting a workflow still deletes its runs and their steps (a trigger stands in for the foreign key)
    await db.execute("DELETE FROM workflows WHERE id = $1", workflow)
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 0
    assert await db.fetchval("SELECT count(*) FROM step_executions") == 0

    lines.clear()
    assert await partitions.convert(NOW) == []
    assert lines == [
        f"{t}: already partitioned" for t in ("workflow_executions", "step_executions", "audit_logs")
    ]


async def test_retention_drops_whole_months_past_their_time(
    db: asyncpg.Connection, engine: AsyncEngine, settings: Settings
) -> None:
    _, workflow = await workspace_on(db, "ENTERPRISE")
    waiting = await execution(db, workflow, 30, "RUNNING")  # keeps the old block: a run still going
    await Partitions(engine, months_ahead=3).convert(NOW)
    boundary = min(
        p.upper for p in (await Partitions(engine).status())["workflow_executions"] or [] if p.upper
    )
    first, second = boundary, add_months(boundary, 1)
    gone = await dated_execution(db, workflow, first + timedelta(days=2), "SUCCESS")
    spilled = await dated_execution(db, workflow, second - timedelta(seconds=1), "FAILED")
    await step_row(db, spilled, second + timedelta(seconds=1))  # its second step is in the next month
    kept = await dated_execution(db, workflow, second + timedelta(days=2), "SUCCESS")
    await db.execute(
        "INSERT INTO audit_logs (action, entity_type, created_at) VALUES ('x', 'y', $1), ('x', 'y', $2)",
        first + timedelta(days=1),
        second + timedelta(days=1),
    )

    # a year and a day after the first month ends: every plan (ENTERPRISE keeps 365 days) is done with it
    later = add_months(first, 1) + timedelta(days=366)
    store = PostgresLogStore(engine)
    settings = settings.model_copy(update={"audit_log_retention_days": 365})
    lines: list[str] = []
    dry = await Retention(engine, store, settings, lines.append).run(dry_run=True, now=later)
    removed = dry.as_dict()["removed"]
    assert isinstance(removed, dict)
    assert removed[f"workflow_executions (partition workflow_executions_{first:%Y_%m})"] == 2
    assert removed[f"step_executions (partition step_executions_{first:%Y_%m})"] == 2
    assert removed[f"audit_logs (partition audit_logs_{first:%Y_%m})"] == 1
    # the old block holds a run still waiting: kept, with its steps (the old audit block goes)
    assert not any("executions_before_" in key for key in removed)
    assert removed[f"audit_logs (partition audit_logs_before_{first:%Y_%m})"] == 0
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 4

    await Retention(engine, store, settings).run(now=later)
    ids = {r["id"] for r in await db.fetch("SELECT id FROM workflow_executions")}
    assert ids == {waiting, kept}
    assert (
        await db.fetchval(
            "SELECT count(*) FROM step_executions WHERE execution_id = ANY($1)", [gone, spilled]
        )
        == 0
    )
    assert await db.fetchval("SELECT count(*) FROM step_executions") == 2
    assert await db.fetchval("SELECT count(*) FROM audit_logs") == 1
    assert await db.fetchval("SELECT count(*) FROM step_executions WHERE execution_id = $1", waiting) == 1
    names = {p.name for p in (await Partitions(engine).status())["workflow_executions"] or []}
    assert f"workflow_executions_{first:%Y_%m}" not in names
    # the months up to three ahead of `later` were added
    assert f"workflow_executions_{add_months(month_start(later), 3):%Y_%m}" in names


def test_partition_cli_shows_progress_and_status(database_url: str, settings: Settings) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.redis_url}
    run = [sys.executable, "-m", "baton", "partition"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "swapping in the partitioned table" in done.stdout
    assert "Partitioned 3 table(s)" in done.stdout
    assert "workflow_executions: 5 partitions (workflow_executions_before_" in done.stdout
    again = subprocess.run(
        [*run, "--status"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "Partitioned" not in again.stdout
    assert "audit_logs: 5 partitions" in again.stdout
