"""Where execution logs, analytics events and integration usage go: MongoDB when `MONGODB_URL` is set
(PyMongo's async API, the successor of motor), else PostgreSQL tables of the same shape.

Documents are the seed's, field for field (camelCase). Writers never wait on the store: `BufferedWriter`
keeps entries in a bounded in-process buffer and writes them in batches, so a slow or down store delays
the logs, never a step; what the buffer cannot hold is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, null, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from core.analytics import (
    EXECUTIONS,
    INTEGRATION_USAGE,
    LOG_BASE,
    STEP_FAILED,
    STEP_FAILURES,
    WORKFLOW_EXECUTED,
    DailyRow,
    GroupedCount,
    day_start,
    fold,
)
from core.db import delete_in_batches
from core.live import new_entry_id
from core.models import AnalyticsDaily, AnalyticsEvent, ExecutionLog, IntegrationUsage
from core.models.enums import FAILED_STATUSES
from core.outages import raise_if_cancelled
from core.settings import Settings

logger = logging.getLogger("baton.logstore")

USAGE = IntegrationUsage.__table__  # type: ignore[attr-defined]
LOGS = ExecutionLog.__table__  # type: ignore[attr-defined]
EVENTS = AnalyticsEvent.__table__  # type: ignore[attr-defined]
DAILY = AnalyticsDaily.__table__  # type: ignore[attr-defined]
EVENT_FIELDS = {
    "timestamp": "timestamp",
    "event": "event",
    "workspaceId": "workspace_id",
    "workflowId": "workflow_id",
    "properties": "properties",
}
# What retention removes, and the time field it goes by (analytics_daily: the day).
PURGEABLE = {
    "execution_logs": "timestamp",
    "analytics_events": "timestamp",
    "integration_usage": "timestamp",
    "analytics_daily": "day",
}
LOG_FIELDS = {
    "id": "id",
    "executionId": "execution_id",
    "workflowId": "workflow_id",
    "timestamp": "timestamp",
    "level": "level",
    "message": "message",
    "stepId": "step_id",
    "metadata": "metadata",
}


@dataclass(frozen=True)
class LogRetention:
    """How long the log store keeps things (the seed's data retention policy)."""

    execution_log_days: int = 30
    analytics_raw_days: int = 30
    analytics_days: int = 365

    @classmethod
    def from_settings(cls, settings: Settings) -> LogRetention:
        return cls(
            settings.execution_log_retention_days,
            settings.analytics_raw_days,
            settings.analytics_retention_days,
        )


@dataclass(frozen=True)
class LogQuery:
    """Which of an execution's log entries to read: in time order, after `after` ((timestamp, id))."""

    execution_id: str
    level: str | None = None
    step_id: str | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


# The seed's `integration_usage` fields and their columns.
USAGE_FIELDS = {
    "timestamp": "timestamp",
    "integrationId": "integration_id",
    "connectionId": "connection_id",
    "action": "action",
    "workspaceId": "workspace_id",
    "success": "success",
    "duration": "duration",
    "rateLimit": "rate_limit",
    "executionId": "execution_id",
    "error": "error",
}


class LogStore(Protocol):
    kind: str

    async def ping(self) -> None:
        """Raises when the store cannot be reached."""

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        """Appends `integration_usage` documents."""

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        """Appends `execution_logs` documents."""

    async def write_events(self, documents: list[dict[str, Any]]) -> None:
        """Appends `analytics_events` documents."""

    async def logs(self, query: LogQuery) -> list[dict[str, Any]]:
        """Entries of one execution in time order (each with its `id`), at most `query.limit`."""

    async def daily_rows(self, workspace_id: str | None, since: datetime, until: datetime) -> list[DailyRow]:
        """Raw events and usage documents in [since, until) folded into daily rows (None: every workspace)."""

    async def aggregates(self, workspace_id: str | None, since: date, until: date) -> list[DailyRow]:
        """`analytics_daily` rows for days in [since, until)."""

    async def write_aggregates(self, rows: list[DailyRow]) -> None:
        """Writes daily rows, replacing any already there for the same day and subject."""

    async def aggregated_through(self) -> date | None:
        """The newest day kept as daily rows (raw documents are read for the days after it)."""

    async def oldest_raw(self) -> datetime | None:
        """When the oldest raw analytics event or usage document was written."""

    async def purge(self, collection: str, before: datetime | date, *, batch: int, dry_run: bool) -> int:
        """Removes (or, dry, counts) the documents of a `PURGEABLE` collection older than `before`, in
        batches of at most `batch`."""

    async def close(self) -> None: ...


def _without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != name}


def _jsonable(value: Any) -> Any:
    """JSONB takes no datetimes: nested times (rateLimit.reset) are stored as ISO text."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class PostgresLogStore:
    kind = "postgresql"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        await self._insert(USAGE, USAGE_FIELDS, "rateLimit", documents)

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        await self._insert(LOGS, LOG_FIELDS, "metadata", documents)

    async def write_events(self, documents: list[dict[str, Any]]) -> None:
        await self._insert(EVENTS, EVENT_FIELDS, "properties", [{"properties": {}, **d} for d in documents])

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
        async with self._engine.connect() as connection:
            found = (
                await connection.execute(
                    events, {**scope, "executed": WORKFLOW_EXECUTED, "step_failed": STEP_FAILED}
                )
            ).all()
            used = (await connection.execute(usage, scope)).all()
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
        self, table: Any, fields: dict[str, str], nested: str, documents: list[dict[str, Any]]
    ) -> None:
        """Documents as rows: fields to columns, the nested object as JSONB (SQL NULL when absent)."""
        rows = [
            {
                column: (_jsonable(d[name]) if d.get(name) is not None else null())
                if name == nested
                else (d.get("id") or new_entry_id() if name == "id" else d.get(name))
                for name, column in fields.items()
            }
            for d in documents
        ]
        async with self._engine.begin() as connection:
            await connection.execute(insert(table), rows)

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


class MongoLogStore:
    kind = "mongodb"

    def __init__(self, url: str, database: str, retention: LogRetention | None = None) -> None:
        from pymongo import AsyncMongoClient

        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=2000, tz_aware=True
        )
        self.database = self._client[database]
        self._retention = retention or LogRetention()
        self._indexed = False

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def ensure_indexes(self) -> None:
        """The seed's indexes, plus TTL indexes that remove what retention would (a safety net when the
        maintenance workflow does not run: raw analytics get a week's grace to be aggregated first)."""
        if self._indexed:
            return
        day = 86_400
        usage = self.database["integration_usage"]
        await usage.create_index([("integrationId", 1), ("timestamp", -1)])
        await usage.create_index([("workspaceId", 1), ("timestamp", -1)])
        logs = self.database["execution_logs"]
        await logs.create_index([("executionId", 1), ("timestamp", 1)])
        await logs.create_index([("workflowId", 1), ("timestamp", -1)])
        events = self.database["analytics_events"]
        await events.create_index([("workspaceId", 1), ("timestamp", -1)])
        await events.create_index([("event", 1), ("timestamp", -1)])
        daily = self.database["analytics_daily"]
        await daily.create_index(
            [("workspaceId", 1), ("day", 1), ("kind", 1), ("workflowId", 1), ("name", 1)], unique=True
        )
        retention = self._retention
        for name, field_name, seconds in (
            ("execution_logs", "timestamp", retention.execution_log_days * day),
            ("analytics_events", "timestamp", (retention.analytics_raw_days + 7) * day),
            ("integration_usage", "timestamp", (retention.analytics_raw_days + 7) * day),
            ("analytics_daily", "day", (retention.analytics_days + 1) * day),
        ):
            await self._ttl_index(name, field_name, seconds)
        self._indexed = True

    async def _ttl_index(self, collection: str, field_name: str, seconds: int) -> None:
        from pymongo.errors import OperationFailure

        name = f"{field_name}_ttl"
        try:
            await self.database[collection].create_index(field_name, name=name, expireAfterSeconds=seconds)
        except OperationFailure:  # the retention changed: the index takes the new value in place
            await self.database.command(
                "collMod", collection, index={"name": name, "expireAfterSeconds": seconds}
            )

    async def _insert(self, collection: str, documents: list[dict[str, Any]]) -> None:
        await self.ensure_indexes()
        await self.database[collection].insert_many([dict(d) for d in documents], ordered=False)

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        await self._insert("integration_usage", documents)

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        from bson import ObjectId

        # the entry's id is the document's `_id` (live events carry it, replays start after it)
        await self._insert(
            "execution_logs",
            [
                {"_id": ObjectId(d["id"]) if d.get("id") else ObjectId(), **_without(d, "id")}
                for d in documents
            ],
        )

    async def write_events(self, documents: list[dict[str, Any]]) -> None:
        await self._insert("analytics_events", documents)

    async def logs(self, query: LogQuery) -> list[dict[str, Any]]:
        from bson import ObjectId

        selector: dict[str, Any] = {"executionId": query.execution_id}
        if query.level:
            selector["level"] = query.level
        if query.step_id:
            selector["stepId"] = query.step_id
        if query.after:
            at, last = query.after
            selector["$or"] = [{"timestamp": {"$gt": at}}, {"timestamp": at, "_id": {"$gt": ObjectId(last)}}]
        cursor = (
            self.database["execution_logs"]
            .find(selector)
            .sort([("timestamp", 1), ("_id", 1)])
            .limit(query.limit)
        )
        return [{**{k: v for k, v in d.items() if k != "_id"}, "id": str(d["_id"])} async for d in cursor]

    async def daily_rows(self, workspace_id: str | None, since: datetime, until: datetime) -> list[DailyRow]:
        match: dict[str, Any] = {"timestamp": {"$gte": since, "$lt": until}}
        if workspace_id is not None:
            match["workspaceId"] = workspace_id
        day = {"$dateTrunc": {"date": "$timestamp", "unit": "day", "timezone": "UTC"}}

        def bucket(duration: str) -> dict[str, Any]:
            return {
                "$floor": {
                    "$divide": [{"$ln": {"$add": [{"$max": [{"$ifNull": [duration, 0]}, 0]}, 1]}}, LOG_BASE]
                }
            }

        executed = {"$eq": ["$event", WORKFLOW_EXECUTED]}
        event_groups = self.database["analytics_events"].aggregate(
            [
                {"$match": {**match, "event": {"$in": [WORKFLOW_EXECUTED, STEP_FAILED]}}},
                {
                    "$group": {
                        "_id": {
                            "day": day,
                            "workspace": "$workspaceId",
                            "workflow": {"$ifNull": ["$workflowId", ""]},
                            "event": "$event",
                            "name": {
                                "$cond": [
                                    executed,
                                    {"$ifNull": ["$properties.status", ""]},
                                    {"$ifNull": ["$properties.stepId", ""]},
                                ]
                            },
                            "bucket": {"$cond": [executed, bucket("$properties.duration"), None]},
                        },
                        "n": {"$sum": 1},
                        "durationSum": {"$sum": {"$ifNull": ["$properties.duration", 0]}},
                    }
                },
            ]
        )
        groups: list[GroupedCount] = []
        async for g in await event_groups:
            key = g["_id"]
            is_run = key["event"] == WORKFLOW_EXECUTED
            groups.append(
                GroupedCount(
                    key["workspace"],
                    key["day"].date(),
                    EXECUTIONS if is_run else STEP_FAILURES,
                    key["workflow"],
                    key["name"],
                    int(key["bucket"]) if key["bucket"] is not None else None,
                    g["n"],
                    g["n"] if not is_run or key["name"] in FAILED_STATUSES else 0,
                    int(g["durationSum"]) if is_run else 0,
                )
            )
        usage_groups = self.database["integration_usage"].aggregate(
            [
                {"$match": {**match, "workspaceId": match.get("workspaceId", {"$ne": None})}},
                {
                    "$group": {
                        "_id": {
                            "day": day,
                            "workspace": "$workspaceId",
                            "name": {"$concat": ["$integrationId", ".", "$action"]},
                            "bucket": bucket("$duration"),
                        },
                        "n": {"$sum": 1},
                        "errors": {"$sum": {"$cond": ["$success", 0, 1]}},
                        "durationSum": {"$sum": {"$ifNull": ["$duration", 0]}},
                    }
                },
            ]
        )
        async for g in await usage_groups:
            key = g["_id"]
            groups.append(
                GroupedCount(
                    key["workspace"],
                    key["day"].date(),
                    INTEGRATION_USAGE,
                    "",
                    key["name"],
                    int(key["bucket"]),
                    g["n"],
                    g["errors"],
                    int(g["durationSum"]),
                )
            )
        return fold(groups)

    async def aggregates(self, workspace_id: str | None, since: date, until: date) -> list[DailyRow]:
        selector: dict[str, Any] = {"day": {"$gte": day_start(since), "$lt": day_start(until)}}
        if workspace_id is not None:
            selector["workspaceId"] = workspace_id
        return [
            DailyRow(
                d["workspaceId"],
                d["day"].date(),
                d["kind"],
                d["workflowId"],
                d["name"],
                d["count"],
                d["errors"],
                d["durationSum"],
                d["histogram"],
            )
            async for d in self.database["analytics_daily"].find(selector)
        ]

    async def write_aggregates(self, rows: list[DailyRow]) -> None:
        from pymongo import ReplaceOne

        if not rows:
            return
        await self.ensure_indexes()
        operations = []
        for row in rows:
            key = {
                "workspaceId": row.workspace_id,
                "day": day_start(row.day),
                "kind": row.kind,
                "workflowId": row.workflow_id,
                "name": row.name,
            }
            figures = {
                "count": row.count,
                "errors": row.errors,
                "durationSum": row.duration_sum,
                "histogram": row.histogram,
            }
            operations.append(ReplaceOne(key, {**key, **figures}, upsert=True))
        await self.database["analytics_daily"].bulk_write(operations, ordered=False)

    async def aggregated_through(self) -> date | None:
        newest = await self.database["analytics_daily"].find_one({}, sort=[("day", -1)])
        return newest["day"].date() if newest else None

    async def oldest_raw(self) -> datetime | None:
        found = [
            d["timestamp"]
            for name in ("analytics_events", "integration_usage")
            if (d := await self.database[name].find_one({}, {"timestamp": 1}, sort=[("timestamp", 1)]))
        ]
        return min(found) if found else None

    async def purge(self, collection: str, before: datetime | date, *, batch: int, dry_run: bool) -> int:
        field_name = PURGEABLE[collection]
        if not isinstance(before, datetime):
            before = day_start(before)
        selector = {field_name: {"$lt": before}}
        documents = self.database[collection]
        if dry_run:
            return int(await documents.count_documents(selector))
        removed = 0
        while True:  # by batches of ids, so no single delete holds the collection for long
            ids = [d["_id"] async for d in documents.find(selector, {"_id": 1}).limit(batch)]
            if not ids:
                return removed
            removed += (await documents.delete_many({"_id": {"$in": ids}})).deleted_count

    async def close(self) -> None:
        await self._client.close()


def create_log_store(settings: Settings, engine: AsyncEngine) -> LogStore:
    if settings.mongodb_url:
        return MongoLogStore(
            settings.mongodb_url, settings.mongodb_database, LogRetention.from_settings(settings)
        )
    return PostgresLogStore(engine)


class BufferedWriter:
    """Batches documents for one store method; never blocks or fails the caller.

    Entries wait in a bounded deque; `run()` writes them every `interval` seconds (or sooner once `batch`
    are waiting). A failed write puts the batch back (oldest entries go first when the bound is reached);
    `dropped` counts what was lost and is logged.
    """

    def __init__(
        self,
        name: str,
        write: Any,
        *,
        interval: float = 1.0,
        batch: int = 500,
        bound: int = 20_000,
    ) -> None:
        self.name = name
        self._write = write
        self._interval = interval
        self._batch = batch
        self._pending: deque[dict[str, Any]] = deque(maxlen=bound)
        self._wake = asyncio.Event()
        self.dropped = 0
        self.written = 0

    def add(self, document: dict[str, Any]) -> None:
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1  # the deque drops its oldest entry
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                logger.error(
                    "%s: the log store is behind; %d entries dropped so far", self.name, self.dropped
                )
        self._pending.append(document)
        if len(self._pending) >= self._batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> bool:
        """Writes what is waiting; False when the store refused (the entries wait for the next flush)."""
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(self._batch, len(self._pending)))]
            try:
                await self._write(batch)
            except Exception as exc:
                room = (self._pending.maxlen or 0) - len(self._pending)
                self.dropped += max(0, len(batch) - room)  # the newest entries make way for older ones
                self._pending.extendleft(reversed(batch))
                raise_if_cancelled()  # the batch is back in line for the last flush
                logger.warning("%s: could not write %d entries (%s); will retry", self.name, len(batch), exc)
                return False
            self.written += len(batch)
        return True

    async def run(self) -> None:
        """Flushes until cancelled, then once more."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
                await self.flush()
                raise_if_cancelled()  # a cancel a store's client swallowed: the finally still flushes
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())


@dataclass
class LogWriters:
    """The worker's three buffered writers to one log store."""

    store: LogStore
    usage: BufferedWriter
    logs: BufferedWriter
    events: BufferedWriter

    @classmethod
    def to(cls, store: LogStore) -> LogWriters:
        return cls(
            store,
            BufferedWriter("integration_usage", store.write_usage),
            BufferedWriter("execution_logs", store.write_logs, interval=0.5),
            BufferedWriter("analytics_events", store.write_events),
        )

    async def run(self) -> None:
        """Runs every writer until cancelled (each flushes once more on the way out)."""
        await asyncio.gather(self.usage.run(), self.logs.run(), self.events.run())

    async def flush(self) -> None:
        for writer in (self.usage, self.logs, self.events):
            await writer.flush()
