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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, null, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import ExecutionLog, IntegrationUsage
from core.settings import Settings

logger = logging.getLogger("baton.logstore")

USAGE = IntegrationUsage.__table__  # type: ignore[attr-defined]
LOGS = ExecutionLog.__table__  # type: ignore[attr-defined]
LOG_FIELDS = {
    "executionId": "execution_id",
    "workflowId": "workflow_id",
    "timestamp": "timestamp",
    "level": "level",
    "message": "message",
    "stepId": "step_id",
    "metadata": "metadata",
}


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

    async def logs(self, query: LogQuery) -> list[dict[str, Any]]:
        """Entries of one execution in time order (each with its `id`), at most `query.limit`."""

    async def close(self) -> None: ...


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

    async def _insert(
        self, table: Any, fields: dict[str, str], nested: str, documents: list[dict[str, Any]]
    ) -> None:
        """Documents as rows: fields to columns, the nested object as JSONB (SQL NULL when absent)."""
        rows = [
            {
                column: (_jsonable(d[name]) if d.get(name) is not None else null())
                if name == nested
                else d.get(name)
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
        return [
            {"id": row["id"], **{name: row[column] for name, column in LOG_FIELDS.items()}} for row in rows
        ]

    async def close(self) -> None:
        """The engine belongs to the caller."""


class MongoLogStore:
    kind = "mongodb"

    def __init__(self, url: str, database: str) -> None:
        from pymongo import AsyncMongoClient

        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=2000, tz_aware=True
        )
        self.database = self._client[database]
        self._indexed = False

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def _ensure_indexes(self) -> None:
        if self._indexed:
            return
        usage = self.database["integration_usage"]
        await usage.create_index([("integrationId", 1), ("timestamp", -1)])
        await usage.create_index([("workspaceId", 1), ("timestamp", -1)])
        logs = self.database["execution_logs"]
        await logs.create_index([("executionId", 1), ("timestamp", 1)])
        await logs.create_index([("workflowId", 1), ("timestamp", -1)])
        self._indexed = True

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        await self._ensure_indexes()
        await self.database["integration_usage"].insert_many([dict(d) for d in documents], ordered=False)

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        await self._ensure_indexes()
        await self.database["execution_logs"].insert_many([dict(d) for d in documents], ordered=False)

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

    async def close(self) -> None:
        await self._client.close()


def create_log_store(settings: Settings, engine: AsyncEngine) -> LogStore:
    if settings.mongodb_url:
        return MongoLogStore(settings.mongodb_url, settings.mongodb_database)
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
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
