"""The async SQLAlchemy engine and sessions (asyncpg driver) every process uses to reach PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.settings import Settings, to_asyncpg_url


def create_engine(
    settings: Settings, *, database_url: str | None = None, pre_ping: bool = True
) -> AsyncEngine:
    """`pre_ping`: test each connection as it leaves the pool (a round trip per transaction), so a request
    after a PostgreSQL restart does not fail. The worker turns it off: an activity that meets a dropped
    connection fails, the pool drops it, and Temporal retries the activity."""
    return create_async_engine(
        to_asyncpg_url(database_url or settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=pre_ping,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block succeeds, rolls back when it raises."""
    async with factory() as session, session.begin():
        yield session


async def delete_in_batches(
    engine: AsyncEngine,
    table: str,
    key: str,
    selected: str,
    params: dict[str, object],
    *,
    batch: int,
    dry_run: bool,
) -> int:
    """Deletes the rows of `table` whose `key` (a column, or `ctid`) the query `selected` picks, at most
    `batch` per transaction so no lock is held for long; `dry_run` only counts them. Returns how many."""
    if dry_run:
        async with engine.connect() as connection:
            count = await connection.scalar(text(f"SELECT count(*) FROM ({selected}) AS doomed"), params)
        return int(count or 0)
    delete = text(f"DELETE FROM {table} WHERE {key} IN ({selected} LIMIT :batch)")
    removed = 0
    while True:
        async with engine.begin() as connection:
            done = (await connection.execute(delete, {**params, "batch": batch})).rowcount
        removed += done
        if done < batch:
            return removed


# A NUL character escaped in JSON text (not a literal backslash before "u0000").
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def jsonb(value: Any) -> str:
    """JSON text PostgreSQL's JSONB accepts: it refuses the NUL character (\\u0000), which JSON and a
    run's data may hold (a webhook body, a service's answer), so NUL is stored as U+FFFD. Refused, the
    write of a run's rows would fail on every retry and the run would never end."""
    return _JSON_NUL.sub(r"\1\\ufffd", json.dumps(value, default=str))


def pg_text(value: str | None) -> str | None:
    """Text PostgreSQL accepts: NUL stored as U+FFFD (see `jsonb`)."""
    return value.replace("\x00", "\ufffd") if value else value
