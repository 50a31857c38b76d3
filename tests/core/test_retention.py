"""Retention with backdated rows: what is past its time goes (in batches), nothing newer or unfinished is
touched, a dry run only counts, and `baton retention run` prints what it removes."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from core.logstore import PostgresLogStore
from core.ops.retention import Retention
from core.settings import Settings
from tests.baton.cli import baton
from tests.factories import create_workflow, create_workspace

NOW = datetime.now(UTC)


async def execution(
    db: asyncpg.Connection, workflow_id: str, days_old: float, status: str = "SUCCESS"
) -> str:
    created = NOW - timedelta(days=days_old)
    execution_id = str(
        await db.fetchval(
            "INSERT INTO workflow_executions (workflow_id, status, trigger_data, created_at, started_at) "
            "VALUES ($1, $2, '{}', $3, $3) RETURNING id",
            workflow_id,
            status,
            created,
        )
    )
    await db.execute(
        "INSERT INTO step_executions (execution_id, step_id, step_type, status, input) "
        "VALUES ($1, 'a', 'set', 'SUCCESS', '{}')",
        execution_id,
    )
    return execution_id


async def workspace_on(db: asyncpg.Connection, plan: str) -> tuple[str, str]:
    workspace = await create_workspace(db)
    await db.execute("UPDATE workspaces SET plan = $2 WHERE id = $1", workspace, plan)
    return workspace, await create_workflow(
        db, [{"id": "a", "type": "set", "values": {}}], workspace_id=workspace
    )


async def audit(db: asyncpg.Connection, workspace: str, days_old: float) -> None:
    await db.execute(
        "INSERT INTO audit_logs (workspace_id, action, entity_type, entity_id, created_at) "
        "VALUES ($1, 'test.done', 'workspace', $1, $2)",
        workspace,
        NOW - timedelta(days=days_old),
    )


async def test_retention_removes_what_is_past_its_time_and_nothing_newer(
    db: asyncpg.Connection, engine: AsyncEngine, settings: Settings
) -> None:
    free_ws, free = await workspace_on(db, "FREE")  # 90 days
    pro_ws, pro = await workspace_on(db, "PROFESSIONAL")  # 180 days
    doomed = [
        await execution(db, free, 91),
        await execution(db, free, 400, "FAILED"),
        await execution(db, pro, 181),
    ]
    kept = [
        await execution(db, free, 89),
        await execution(db, pro, 120),
        await execution(db, free, 400, "RUNNING"),  # not finished: never removed, however old
        await execution(db, free, 0),
    ]
    for days in (366, 400, 364, 1):
        await audit(db, free_ws, days)
    store = PostgresLogStore(engine)
    logs = [
        {"executionId": "e", "timestamp": NOW - timedelta(days=d), "level": "info", "message": str(d)}
        for d in (31, 45, 29, 0)
    ]
    await store.write_logs(logs)
    for days in (40, 10):
        event = {
            "event": "workflow_executed",
            "workspaceId": pro_ws,
            "workflowId": pro,
            "timestamp": NOW - timedelta(days=days),
        }
        await store.write_events([{**event, "properties": {"status": "SUCCESS", "duration": 5}}])

    settings = settings.model_copy(update={"retention_batch_size": 2})
    lines: list[str] = []
    dry = await Retention(engine, store, settings, lines.append).run(dry_run=True)
    counts = dry.as_dict()["removed"]
    assert isinstance(counts, dict)
    assert counts["workflow_executions (FREE, 90 days)"] == 2
    assert counts["workflow_executions (PROFESSIONAL, 180 days)"] == 1
    assert (counts["audit_logs"], counts["execution_logs"], counts["analytics_events"]) == (2, 2, 1)
    assert dry.total == 8
    assert any(line.startswith("audit_logs: would remove 2 older than") for line in lines)
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 7  # a dry run changes nothing
    assert await db.fetchval("SELECT count(*) FROM analytics_daily") == 0

    done = await Retention(engine, store, settings).run()
    assert done.as_dict()["removed"] == counts
    remaining = {r["id"] for r in await db.fetch("SELECT id FROM workflow_executions")}
    assert remaining == set(kept)
    assert await db.fetchval("SELECT count(*) FROM step_executions WHERE execution_id = ANY($1)", doomed) == 0
    assert await db.fetchval("SELECT count(*) FROM step_executions") == len(kept)
    ages = sorted(
        round((NOW - r["created_at"]).total_seconds() / 86400)
        for r in await db.fetch("SELECT created_at FROM audit_logs")
    )
    assert ages == [1, 364]
    assert sorted(r["message"] for r in await db.fetch("SELECT message FROM execution_logs")) == ["0", "29"]
    # the 40-day-old event now lives on as a daily row; the 10-day-old one is still raw
    assert await db.fetchval("SELECT count(*) FROM analytics_events") == 1
    daily = await db.fetch("SELECT * FROM analytics_daily")
    assert [(r["kind"], r["name"], r["count"], r["day"]) for r in daily] == [
        ("executions", "SUCCESS", 1, (NOW - timedelta(days=40)).date())
    ]
    again = await Retention(engine, store, settings).run()
    assert again.total == 0  # nothing left to do, and the aggregates are not counted twice
    assert await db.fetchval("SELECT sum(count) FROM analytics_daily") == 1

    await db.execute("UPDATE analytics_daily SET day = day - 400")
    assert (await Retention(engine, store, settings).run()).as_dict()["removed"]["analytics_daily"] == 1  # type: ignore[index]


def test_retention_cli_prints_what_it_would_remove(database_url: str, settings: Settings) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.redis_url}
    env.pop("MONGODB_URL", None)
    done = baton("retention", "run", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing is removed" in done.stdout
    assert "workflow_executions (FREE, 90 days): would remove 0 older than" in done.stdout
    assert "execution_logs: would remove 0" in done.stdout
    assert done.stdout.strip().endswith("Would remove 0 row(s) in all.")
    bad = baton("retention", "run", env=env, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert bad.returncode == 1
    assert "cannot use PostgreSQL" in bad.stderr
