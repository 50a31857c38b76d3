"""The PostgreSQL log store: tables of the seed's document shapes (used when MONGODB_URL is unset)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from core.analytics import (
    EXECUTIONS,
    INTEGRATION_USAGE,
    LOG_BASE,
    MODEL_USAGE,
    STEP_FAILED,
    STEP_FAILURES,
    WORKFLOW_EXECUTED,
    DailyRow,
    GroupedCount,
    fold,
)
from core.db import delete_in_batches, driver, jsonb
from core.live import new_entry_id
from core.logstore.base import EVENT_FIELDS, LOG_FIELDS, PURGEABLE, USAGE_FIELDS, LogQuery, jsonable
from core.models.enums import FAILED_STATUSES
from core.models.tables import ANALYTICS_DAILY as DAILY
from core.models.tables import ANALYTICS_EVENTS as EVENTS
from core.models.tables import EXECUTION_LOGS as LOGS
from core.models.tables import INTEGRATION_USAGE as USAGE


class PostgresLogStore:
    kind = "postgresql"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        await self._insert(USAGE, USAGE_FIELDS, ("rateLimit", "metadata"), documents)

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        await self._insert(LOGS, LOG_FIELDS, ("metadata",), documents)

    async def write_events(self, documents: list[dict[str, Any]]) -> None:
        await self._insert(
            EVENTS, EVENT_FIELDS, ("properties",), [{"properties": {}, **d} for d in documents]
        )

    async def daily_rows(self, workspace_id: str | None, since: datetime, until: datetime) -> list[DailyRow]:
        scope = {"since": since, "until": until, "workspace": workspace_id}
        only = "AND workspace_id = :workspace" if workspace_id is not None else ""
        bucket = f"floor(ln(greatest(coalesce({{d}}, 0), 0) + 1) / {LOG_BASE!r})::int"
        events = text(
            f"""
            SELECT (timestamp AT TIME ZONE 'UTC')::date AS day, workspace_id,
                   coalesce(workflow_id, '') AS workflow, event,
                   CASE WHEN event = :executed THEN coalesce(properties->>'status', '')
                        ELSE coalesce(properties->>'stepId', '') END AS name,
                   CASE WHEN event = :executed
                        THEN {bucket.format(d="(properties->>'duration')::float8")} END AS bucket,
                   count(*) AS n,
                   coalesce(sum((properties->>'duration')::float8), 0)::bigint AS duration_sum
            FROM analytics_events
            WHERE event IN (:executed, :step_failed) AND timestamp >= :since AND timestamp < :until {only}
            GROUP BY 1, 2, 3, 4, 5, 6
            """
        )
        usage = text(
            f"""
            SELECT (timestamp AT TIME ZONE 'UTC')::date AS day, workspace_id,
                   integration_id || '.' || action AS name,
                   {bucket.format(d="duration::float8")} AS bucket,
                   count(*) AS n, count(*) FILTER (WHERE NOT success) AS errors,
                   coalesce(sum(duration), 0)::bigint AS duration_sum
            FROM integration_usage
            WHERE workspace_id IS NOT NULL AND timestamp >= :since AND timestamp < :until {only}
            GROUP BY 1, 2, 3, 4
            """
        )
        metered = text(
            f"""
            SELECT (timestamp AT TIME ZONE 'UTC')::date AS day, workspace_id,
                   coalesce(metadata->>'provider', '') || ':' || (metadata->>'model') AS name,
                   count(*) AS n, count(*) FILTER (WHERE NOT success) AS errors,
                   coalesce(sum((metadata->>'inputTokens')::bigint), 0)::bigint AS input_tokens,
                   coalesce(sum((metadata->>'outputTokens')::bigint), 0)::bigint AS output_tokens,
                   coalesce(sum(round((metadata->>'costUsd')::numeric * 1000000)), 0)::bigint AS cost,
                   count(*) FILTER (WHERE metadata->>'costUsd' IS NULL) AS unpriced
            FROM integration_usage
            WHERE workspace_id IS NOT NULL AND metadata->>'model' IS NOT NULL
                  AND timestamp >= :since AND timestamp < :until {only}
            GROUP BY 1, 2, 3
            """
        )
        async with self._engine.connect() as connection:
            found = (
                await connection.execute(
                    events, {**scope, "executed": WORKFLOW_EXECUTED, "step_failed": STEP_FAILED}
                )
            ).all()
            used = (await connection.execute(usage, scope)).all()
            models = (await connection.execute(metered, scope)).all()
        groups = [
            GroupedCount(
                r.workspace_id,
                r.day,
                EXECUTIONS if r.event == WORKFLOW_EXECUTED else STEP_FAILURES,
                r.workflow,
                r.name,
                r.bucket,
                r.n,
                r.n if r.event == STEP_FAILED or r.name in FAILED_STATUSES else 0,
                r.duration_sum if r.event == WORKFLOW_EXECUTED else 0,
            )
            for r in found
        ]
        groups += [
            GroupedCount(
                r.workspace_id, r.day, INTEGRATION_USAGE, "", r.name, r.bucket, r.n, r.errors, r.duration_sum
            )
            for r in used
        ]
        groups += [
            GroupedCount(
                r.workspace_id,
                r.day,
                MODEL_USAGE,
                "",
                r.name,
                None,
                r.n,
                r.errors,
                0,
                {
                    "inputTokens": r.input_tokens,
                    "outputTokens": r.output_tokens,
                    "costMicroUsd": r.cost,
                    "unpriced": r.unpriced,
                },
            )
            for r in models
        ]
        return fold(groups)

    async def aggregates(self, workspace_id: str | None, since: date, until: date) -> list[DailyRow]:
        statement = DAILY.select().where(DAILY.c.day >= since, DAILY.c.day < until)
        if workspace_id is not None:
            statement = statement.where(DAILY.c.workspace_id == workspace_id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [DailyRow(**dict(row)) for row in rows]

    async def write_aggregates(self, rows: list[DailyRow]) -> None:
        if not rows:
            return
        statement = pg_insert(DAILY).values([asdict(row) for row in rows])
        replaced = ("count", "errors", "duration_sum", "histogram")
        async with self._engine.begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(
                    constraint="analytics_daily_pkey",
                    set_={column: statement.excluded[column] for column in replaced},
                )
            )

    async def aggregated_through(self) -> date | None:
        async with self._engine.connect() as connection:
            found: date | None = await connection.scalar(select(func.max(DAILY.c.day)))
        return found

    async def oldest_raw(self) -> datetime | None:
        async with self._engine.connect() as connection:
            found: datetime | None = await connection.scalar(
                text(
                    "SELECT least((SELECT min(timestamp) FROM analytics_events),"
                    " (SELECT min(timestamp) FROM integration_usage))"
                )
            )
        return found

    async def purge(self, collection: str, before: datetime | date, *, batch: int, dry_run: bool) -> int:
        column = PURGEABLE[collection]  # KeyError: not a log store collection
        selected = f"SELECT ctid FROM {collection} WHERE {column} < :before"  # every table here has a ctid
        return await delete_in_batches(
            self._engine, collection, "ctid", selected, {"before": before}, batch=batch, dry_run=dry_run
        )

    async def _insert(
        self, table: Any, fields: dict[str, str], nested: tuple[str, ...], documents: list[dict[str, Any]]
    ) -> None:
        """Documents as rows: fields to columns, nested objects as JSONB (SQL NULL when absent), in one
        pipelined round trip on the driver (the batch is atomic)."""
        rows = [
            tuple(
                (jsonb(jsonable(d[name])) if d.get(name) is not None else None)
                if name in nested
                else (d.get("id") or new_entry_id() if name == "id" else d.get(name))
                for name in fields
            )
            for d in documents
        ]
        columns = ", ".join(fields.values())
        places = ", ".join(f"${n}" for n in range(1, len(fields) + 1))
        async with driver(self._engine) as connection:
            await connection.executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({places})", rows)

    async def logs(self, query: LogQuery) -> list[dict[str, Any]]:
        statement = LOGS.select().where(LOGS.c.execution_id == query.execution_id)
        if query.level:
            statement = statement.where(LOGS.c.level == query.level)
        if query.step_id:
            statement = statement.where(LOGS.c.step_id == query.step_id)
        if query.after:
            at, last = query.after
            statement = statement.where(
                (LOGS.c.timestamp > at) | ((LOGS.c.timestamp == at) & (LOGS.c.id > last))
            )
        statement = statement.order_by(LOGS.c.timestamp, LOGS.c.id).limit(query.limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [{name: row[column] for name, column in LOG_FIELDS.items()} for row in rows]

    async def close(self) -> None:
        """The engine belongs to the caller."""
