"""Where execution logs, analytics events and integration usage go: MongoDB when `MONGODB_URL` is set
(PyMongo's async API, the successor of motor), else PostgreSQL tables of the same shape.

Documents are the seed's, field for field (camelCase). Writers never wait on the store: `BufferedWriter`
keeps entries in a bounded in-process buffer and writes them in batches, so a slow or down store delays
the logs, never a step; what the buffer cannot hold is dropped and counted.

The interface is `core.logstore.base`; one module per backend (`postgres`, `mongo`) and the writers' buffer
(`buffer`); `create_log_store` picks the backend.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from core.logstore.base import (
    EVENT_FIELDS,
    LOG_FIELDS,
    PURGEABLE,
    USAGE_FIELDS,
    LogQuery,
    LogRetention,
    LogStore,
)
from core.logstore.buffer import BufferedWriter, LogWriters
from core.logstore.mongo import MongoLogStore
from core.logstore.postgres import PostgresLogStore
from core.settings import Settings

__all__ = [
    "EVENT_FIELDS",
    "LOG_FIELDS",
    "PURGEABLE",
    "USAGE_FIELDS",
    "BufferedWriter",
    "LogQuery",
    "LogRetention",
    "LogStore",
    "LogWriters",
    "MongoLogStore",
    "PostgresLogStore",
    "create_log_store",
]


def create_log_store(settings: Settings, engine: AsyncEngine) -> LogStore:
    if settings.mongodb_url:
        return MongoLogStore(
            settings.mongodb_url, settings.mongodb_database, LogRetention.from_settings(settings)
        )
    return PostgresLogStore(engine)
