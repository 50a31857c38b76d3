"""The API reads scenario: listing and filtering a million executions, partitions, EXPLAIN."""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import create_async_engine

from api.pagination import encode_cursor
from bench.common import Api, Row, fire, per_run, report
from bench.engine import summarize
from bench.stack import BenchStack, dev_env
from core.db import delete_in_batches
from core.ops.partitions import Partitions
from core.runs.reads import list_query
from core.runs.rows import INSERT_PENDING
from core.settings import to_asyncpg_url, to_libpq_url


async def api_reads(
    stack: BenchStack, api: Api, db: asyncpg.Connection, total: int, partition: bool = True
) -> list[Row]:
    """List and get endpoints over `total` executions (5 steps each) in PostgreSQL, c=1; then the same on
    the tables moved to monthly partitions (`baton partition`, under write load), and retention by months."""
    workflow_ids = []
    for n in range(10):
        workflow_id, _ = await api.publish(f"Bench reads {n}", {"methods": ["POST"], "mode": "async"}, [])
        workflow_ids.append(workflow_id)
    batch = 50_000
    began = time.perf_counter()
    print(f"    writing {total:,} executions and {5 * total:,} step executions ...", flush=True)
    for first in range(1, total + 1, batch):
        last = min(first + batch - 1, total)
        await db.execute(
            """
            WITH e AS (
                INSERT INTO workflow_executions
                    (id, workflow_id, status, trigger_data, context, result, started_at, completed_at,
                     duration, created_at)
                SELECT gen_random_uuid()::text, ($1::text[])[1 + i % 10], 'SUCCESS', '{"order": 1}',
                       '{"version": 1, "triggerType": "WEBHOOK"}', '{"ok": true}', t, t + interval '120 ms',
                       120, t
                FROM (SELECT i, now() - make_interval(secs => i * 30.0) AS t
                      FROM generate_series($2::int, $3::int) AS i) AS s
                RETURNING id, started_at
            )
            INSERT INTO step_executions
                (execution_id, step_id, step_type, status, input, output, started_at, completed_at, duration,
                 created_at)
            SELECT e.id, 'step_' || k, 'action', 'SUCCESS', '{"url": "http://example.invalid"}',
                   '{"status": 200}', e.started_at + make_interval(secs => k * 0.02),
                   e.started_at + make_interval(secs => k * 0.02 + 0.01), 10,
                   e.started_at + make_interval(secs => k * 0.02)
            FROM e CROSS JOIN generate_series(1, 5) AS k
            """,
            workflow_ids,
            first,
            last,
        )
        elapsed = time.perf_counter() - began
        print(f"\r    {last:,}/{total:,} executions ({elapsed:.0f} s)", end="", flush=True)
    print(flush=True)
    await db.execute("VACUUM ANALYZE workflow_executions")
    await db.execute("VACUUM ANALYZE step_executions")
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM workflow_executions) AS e, (SELECT count(*) FROM step_executions) AS s"
    )

    async def cursor_at(offset: int, workflow_id: str | None) -> tuple[str, tuple[datetime, str]]:
        row = await db.fetchrow(
            "SELECT created_at, id FROM workflow_executions WHERE workflow_id = ANY($1) "
            "ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            [workflow_id] if workflow_id else workflow_ids,
            offset,
        )
        return encode_cursor(row["created_at"], row["id"]), (row["created_at"], row["id"])

    one = workflow_ids[3]
    deep_ws, deep_ws_position = await cursor_at(total // 2, None)
    deep_wf, deep_wf_position = await cursor_at(total // 20, one)
    sample = await db.fetchval(
        "SELECT id FROM workflow_executions WHERE workflow_id = $1 "
        "ORDER BY created_at DESC OFFSET $2 LIMIT 1",
        one,
        total // 30,
    )
    cases: list[tuple[str, str, dict[str, str], Any]] = [
        (
            "workspace executions, page 1",
            "/executions",
            {"limit": "20"},
            list_query(api.workspace_id, limit=20),
        ),
        (
            "workspace executions, deep cursor",
            "/executions",
            {"limit": "20", "cursor": deep_ws},
            list_query(api.workspace_id, limit=20, cursor=deep_ws_position),
        ),
        (
            "workflow executions, page 1",
            "/executions",
            {"limit": "20", "workflowId": one},
            list_query(api.workspace_id, limit=20, workflow_id=one),
        ),
        (
            "workflow executions, deep cursor",
            "/executions",
            {"limit": "20", "workflowId": one, "cursor": deep_wf},
            list_query(api.workspace_id, limit=20, workflow_id=one, cursor=deep_wf_position),
        ),
        ("one execution with its steps", f"/executions/{sample}", {}, None),
    ]

    async def reads(prefix: str) -> list[Row]:
        rows = []
        for label, path, params, query in cases:

            async def call(_: int, path: str = path, params: dict[str, str] = params) -> httpx.Response:
                return await api.client.get(api.base + path, headers=api.headers, params=params)

            await fire(call, 1, 20)
            before = stack.cpu_seconds("api")
            latencies, responses, wall = await fire(call, 1, 300)
            bad = [r for r in responses if r.status_code != 200]
            row = Row(f"{prefix}{label}").with_latencies(summarize(latencies, wall))
            row.cpu_s_per_run = per_run(before, stack.cpu_seconds("api"), len(responses))
            row.rss_mb = stack.rss_mb("api")
            plans = await explain(db, query, sample, api.workspace_id)
            sql_ms = sum(ms for _, ms in plans)
            row.ratio, row.baseline = (row.p50 or 0) / max(sql_ms, 0.001), f"SQL alone ({sql_ms:.2f} ms)"
            row.target, row.met = "p99 <= 30 ms", (row.p99 or 0) <= 30 and not bad
            for indexes, ms in plans:
                row.notes.append(
                    f"EXPLAIN: {ms:.2f} ms, indexes used: {', '.join(indexes) or 'NONE (seq scan)'}"
                )
            if bad:
                row.notes.append(f"{len(bad)} answers not 200: {bad[0].status_code} {bad[0].text[:200]}")
            rows.append(report(row))
        return rows

    rows = await reads("read: ")
    rows[0].notes.insert(
        0,
        f"data: {counts['e']:,} executions, {counts['s']:,} step executions, written in "
        f"{time.perf_counter() - began:.0f} s",
    )
    print(f"    {rows[0].notes[0]}", flush=True)
    if partition:
        rows += await partitioned(stack, db, workflow_ids[0])
        rows += await reads("read, partitioned: ")
        rows.append(await drop_months(stack, db))
    return rows


async def partitioned(stack: BenchStack, db: asyncpg.Connection, workflow_id: str) -> list[Row]:
    """`baton partition` on the data set while the API's PENDING insert runs in a loop beside it: how long the
    move takes and the longest a write waited."""
    writes: list[float] = []
    done = asyncio.Event()

    async def write() -> None:
        writer = await asyncpg.connect(to_libpq_url(stack.database_url))
        try:
            while not done.is_set():
                began = time.perf_counter()
                await writer.execute(INSERT_PENDING, str(uuid.uuid4()), workflow_id, "{}", "{}", 0)
                writes.append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(0.005)
        finally:
            await writer.close()

    writing = asyncio.create_task(write())
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton",
        "partition",
        env={**dev_env(), "DATABASE_URL": stack.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    async for line in process.stdout:
        print(f"    baton partition: {line.decode().rstrip()}", flush=True)
    code = await process.wait()
    wall = time.perf_counter() - began
    done.set()
    await writing
    row = Row("partition 1M executions (live)", runs_per_s=len(writes) / wall)
    figures = summarize(writes, wall)
    row.p50, row.p95, row.p99 = figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]
    row.baseline = f"{wall:.0f} s to move; longest write {max(writes, default=0):.0f} ms"
    row.target, row.met = "writes go on (no error)", code == 0
    row.notes.append(
        f"{len(writes):,} PENDING inserts made during the move (runs/s column); their latency: p columns"
    )
    await db.execute("VACUUM ANALYZE workflow_executions")
    await db.execute("VACUUM ANALYZE step_executions")
    return [report(row)]


async def drop_months(stack: BenchStack, db: asyncpg.Connection) -> Row:
    """Retention on the partitioned data: every month past its time goes as a DROP TABLE, beside the rate
    of row-by-row deletes (what retention does without partitions), measured on 20,000 runs first."""
    engine = create_async_engine(to_asyncpg_url(stack.database_url))
    try:
        oldest = await db.fetchval(
            "SELECT created_at FROM workflow_executions ORDER BY created_at OFFSET 20000 LIMIT 1"
        )
        await db.execute("UPDATE workflow_executions SET status = 'SUCCESS' WHERE status = 'PENDING'")
        began = time.perf_counter()
        deleted = await delete_in_batches(
            engine,
            "workflow_executions",
            "id",
            "SELECT id FROM workflow_executions WHERE created_at < :before",
            {"before": oldest},
            batch=5000,
            dry_run=False,
        )
        per_row = (time.perf_counter() - began) / max(deleted, 1)
        rows = await db.fetchval("SELECT count(*) FROM workflow_executions")
        began = time.perf_counter()
        far = datetime.now(UTC) + timedelta(days=3650)
        dropped = await Partitions(engine).drop_expired(far, datetime(1970, 1, 1, tzinfo=UTC))
        took = time.perf_counter() - began
    finally:
        await engine.dispose()
    runs = sum(d.rows for d in dropped if d.partition.table == "workflow_executions")
    steps = sum(d.rows for d in dropped if d.partition.table == "step_executions")
    row = Row("retention: drop months", runs_per_s=runs / took if took else None)
    row.baseline = f"{took * 1000:.0f} ms; row deletes: {per_row * rows:.0f} s for the same"
    row.ratio = took / max(per_row * rows, 0.001)
    row.target, row.met = "drops instead of deletes", runs == rows
    row.notes.append(
        f"{len(dropped)} partitions dropped: {runs:,} executions and {steps:,} step executions; row deletes "
        f"measured at {deleted / max(per_row * deleted, 0.001):,.0f} executions/s (with their steps) on the "
        f"oldest {deleted:,}"
    )
    return report(row)


INDEX_USE = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)")


async def explain(
    db: asyncpg.Connection, query: Any, execution_id: str, workspace_id: str
) -> list[tuple[list[str], float]]:
    """(indexes used, execution ms) of each statement behind an endpoint, by EXPLAIN ANALYZE."""
    if query is not None:
        compiled = query.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        statements = [(str(compiled), [compiled.params[name] for name in compiled.positiontup or []])]
    else:  # core.runs.reads.get and .steps
        statements = [
            (
                "SELECT e.* FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id "
                "WHERE e.id = $1 AND w.workspace_id = $2",
                [execution_id, workspace_id],
            ),
            (
                "SELECT * FROM step_executions WHERE execution_id = $1 ORDER BY started_at, created_at",
                [execution_id],
            ),
        ]
    plans = []
    for sql, params in statements:
        lines = [r[0] for r in await db.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)]
        text = "\n".join(lines)
        indexes = sorted(set(INDEX_USE.findall(text)))
        match = re.search(r"Execution Time: ([\d.]+) ms", text)
        plans.append((indexes, float(match.group(1)) if match else 0.0))
    return plans


# ---------------------------------------------------------------------------------------------- main
