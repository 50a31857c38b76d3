"""The async SQLAlchemy engine and sessions (asyncpg driver) every process uses to reach PostgreSQL, and the
driver itself under them for the statements a run writes (`driver`, `Statement`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
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


@asynccontextmanager
async def driver(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection under one of the engine's pooled connections, for the statements every run
    writes: no ORM compile or result processing, and no transaction unless the caller opens one (each
    statement commits by itself: one round trip)."""
    async with engine.connect() as connection:
        found = (await connection.get_raw_connection()).driver_connection
        assert found is not None
        try:
            yield found
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, _SERVER_GOING, OSError):
            # SQLAlchemy did not see the statement fail: without this the pool would hand the dead
            # connection out again (the worker's pool has no pre-ping), and every write after a PostgreSQL
            # restart would fail on it
            await connection.invalidate()
            raise


_SERVER_GOING = asyncpg.exceptions.OperatorInterventionError  # class 57: shutting down, starting up
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@dataclass(frozen=True)
class Statement:
    """SQL written with `:named` parameters, as SQLAlchemy's text() reads, run on asyncpg's `$n`."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, named: str) -> Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        return cls(_NAMED.sub(number, named), tuple(names))

    def args(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.names)


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
_JSON_SURROGATE = re.compile(r"\\ud[89a-f]")  # json.dumps escapes every UTF-16 surrogate like this
_SURROGATE = re.compile("[\ud800-\udfff]")


def jsonb(value: Any) -> str:
    """JSON text PostgreSQL's JSONB accepts: it refuses the NUL character (\\u0000) and lone UTF-16
    surrogates (\\ud800), which a run's data may hold (a webhook body, a service's answer), so both are
    stored as U+FFFD. Refused, the write of a run's rows would fail on every retry and the run would never
    end. NaN and infinities, which JSON has no words for, are stored as the strings "NaN", "Infinity".
    Characters outside the BMP (emoji) are kept: only they pay for the second look."""
    try:
        text = json.dumps(value, default=str, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere
        text = json.dumps(_storable(json.loads(json.dumps(value, default=str))), allow_nan=False)
    # the plain substring looks first: a large value (MAX_VALUE_BYTES) with neither is not walked by a regex
    if "\\ud" in text and _JSON_SURROGATE.search(text):
        text = json.dumps(_storable(json.loads(text)))
    return _JSON_NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def pg_text(value: str | None) -> str | None:
    """Text PostgreSQL accepts: NUL and lone surrogates stored as U+FFFD (see `jsonb`)."""
    return _SURROGATE.sub("\ufffd", value.replace("\x00", "\ufffd")) if value else value
