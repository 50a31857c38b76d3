"""Where execution logs, analytics events and integration usage go: MongoDB when `MONGODB_URL` is set
(PyMongo's async API, the successor of motor), else PostgreSQL.

This module holds the store's connection and health check; the collections' reads and writes build on it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings


class LogStore(Protocol):
    kind: str

    async def ping(self) -> None:
        """Raises when the store cannot be reached."""

    async def close(self) -> None: ...


class PostgresLogStore:
    kind = "postgresql"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """The engine belongs to the caller."""


class MongoLogStore:
    kind = "mongodb"

    def __init__(self, url: str, database: str) -> None:
        from pymongo import AsyncMongoClient

        self._client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=2000, tz_aware=True
        )
        self.database = self._client[database]

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()


def create_log_store(settings: Settings, engine: AsyncEngine) -> LogStore:
    if settings.mongodb_url:
        return MongoLogStore(settings.mongodb_url, settings.mongodb_database)
    return PostgresLogStore(engine)
