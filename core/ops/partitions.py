"""Monthly range partitions on `created_at` for the three tables that grow with time: `workflow_executions`,
`step_executions` and `audit_logs` (the seed's "partitioning ready", made real by `baton partition`).

The move is made on a live database, each table in four steps, none of which blocks writes for long:
1. unique indexes on `(id, created_at)` and on `id` are built `CONCURRENTLY` on the table, and a
   `CHECK (created_at < B)` constraint is added `NOT VALID` then validated (both let inserts and updates go
   on), where B is the first day of a month at least a day away;
2. an empty parent partitioned by `RANGE (created_at)` is made beside it, with a primary key of
   `(id, created_at)` (a partitioned table's keys must hold the partition key), the table's other indexes
   and foreign keys, a partition per month from B for `months_ahead` months (each keeps `id` unique on its
   own) and a DEFAULT partition, so no insert ever fails for want of a month;
3. in one short transaction: the table is renamed `<table>_before_<yyyy_mm>`, the parent takes its name
   and indexes' names, and the old table is attached as the partition of everything before B (the
   validated constraint spares the scan);
4. `ANALYZE`.

What changes for the code: nothing. Every write names rows by `id` (updates) or inserts with
`WHERE NOT EXISTS ... ON CONFLICT DO NOTHING` (activities.records, core.runs), which hold on both layouts.
The foreign key from `step_executions.execution_id` to an execution's `id` alone cannot point at a
partitioned table whose key is `(id, created_at)`: a trigger deletes a run's steps with it instead (so
deleting a workflow, or retention's row deletes, still remove the steps), and the worker only writes steps
of runs it has just written.

Retention (core.ops.retention) then drops whole months: an executions partition whose last day is past every
plan's retention and that holds no unfinished run, the step partitions that only hold steps of runs
already gone, and audit-log months past the audit retention. The daily maintenance run also adds the
months ahead. Rows of a plan with a shorter retention are still deleted row by row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models.enums import OPEN_STATUSES

TABLES = ("workflow_executions", "step_executions", "audit_logs")
MONTHS_AHEAD = 3
# A step row is written within moments of its run's; past this, a run's steps are in its month's partition.
STEP_SPILL = timedelta(days=1)
LOCK_TIMEOUT = "5s"
SWAP_ATTEMPTS = 20

Progress = Callable[[str], None]

CASCADE_FUNCTION = """
CREATE OR REPLACE FUNCTION delete_execution_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM step_executions WHERE execution_id = OLD.id;
    RETURN NULL;
END $$
"""
CASCADE_TRIGGER = (
    "CREATE TRIGGER workflow_executions_delete_steps AFTER DELETE ON workflow_executions "
    "FOR EACH ROW EXECUTE FUNCTION delete_execution_steps()"
)
STEPS_FOREIGN_KEY = "step_executions_execution_id_fkey"


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_name(table: str, month: datetime) -> str:
    return f"{table}_{month:%Y_%m}"


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    lower: datetime | None  # None: from MINVALUE
    upper: datetime | None  # None: the DEFAULT partition

    @property
    def is_default(self) -> bool:
        return self.upper is None and self.lower is None


@dataclass
class Dropped:
    partition: Partition
    rows: int


_BOUND = re.compile(r"FROM \((MINVALUE|'[^']+')\) TO \((MAXVALUE|'[^']+')\)")


def _bound(text: str) -> datetime | None:
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    return datetime.fromisoformat(text.strip("'")).astimezone(UTC)


async def is_partitioned(connection: asyncpg.Connection, table: str) -> bool:
    kind = await connection.fetchval("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", table)
    return bool(kind == "p")


async def partitions_of(connection: asyncpg.Connection, table: str) -> list[Partition]:
    """The partitions of `table`, oldest first (the DEFAULT one last)."""
    rows = await connection.fetch(
        """
        SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass($1)
        """,
        table,
    )
    found: list[Partition] = []
    for row in rows:
        match = _BOUND.search(row["bound"])
        if match is None:
            found.append(Partition(table, row["name"], None, None))
        else:
            found.append(Partition(table, row["name"], _bound(match[1]), _bound(match[2])))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.is_default, p.upper or far))


class Partitions:
    """Converts the tables to monthly partitions and keeps them (months ahead, expired months dropped)."""

    def __init__(
        self, engine: AsyncEngine, progress: Progress | None = None, months_ahead: int = MONTHS_AHEAD
    ) -> None:
        self._engine = engine
        self._progress = progress or (lambda _: None)
        self._months_ahead = months_ahead

    async def _run(self, work: Callable[[asyncpg.Connection], Any]) -> Any:
        async with self._engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            return await work(raw)

    async def status(self) -> dict[str, list[Partition] | None]:
        """Each table's partitions, or None when it is still a plain table."""

        async def read(db: asyncpg.Connection) -> dict[str, list[Partition] | None]:
            return {t: await partitions_of(db, t) if await is_partitioned(db, t) else None for t in TABLES}

        result: dict[str, list[Partition] | None] = await self._run(read)
        return result

    async def any_partitioned(self) -> bool:
        return any(parts is not None for parts in (await self.status()).values())

    # -- the move ---------------------------------------------------------------------------------------

    async def convert(self, now: datetime | None = None) -> list[str]:
        """Partitions every table that is not yet; returns the tables converted. Safe to run again, and to
        run again after an interruption (nothing is swapped until the last, atomic step)."""
        now = now or datetime.now(UTC)
        boundary = add_months(month_start(now), 1)
        if boundary - now < timedelta(days=1):
            boundary = add_months(boundary, 1)

        async def work(db: asyncpg.Connection) -> list[str]:
            converted = []
            for table in TABLES:
                if await is_partitioned(db, table):
                    self._progress(f"{table}: already partitioned")
                    continue
                await self._convert(db, table, boundary)
                converted.append(table)
            return converted

        result: list[str] = await self._run(work)
        return result

    async def _convert(self, db: asyncpg.Connection, table: str, boundary: datetime) -> None:
        rows = await db.fetchval("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)", table)
        self._progress(
            f"{table}: about {max(rows, 0):,} rows; rows before {boundary:%Y-%m-%d} stay in one partition"
        )
        # the partition of the parent's key (id, created_at) must have that key as its own primary key,
        # and `id` stays unique in it on its own: two indexes, built without blocking writes
        key, unique = f"{table}_id_created_at_key", f"{table}_id_key"
        for name, columns in ((key, "id, created_at"), (unique, "id")):
            valid = await db.fetchval(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name
            )
            if valid is False:  # an interrupted CONCURRENTLY build leaves an invalid index behind
                await db.execute(f"DROP INDEX CONCURRENTLY {name}")
            if valid is not True:
                self._progress(f"{table}: building a unique index on ({columns}) (writes go on)")
                await db.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} ({columns})")
        check = f"{table}_before_partitions"
        await db.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check}")
        await db.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK (created_at < $q${boundary.isoformat()}$q$) "
            "NOT VALID"
        )
        self._progress(f"{table}: checking every row is older than {boundary:%Y-%m-%d} (writes go on)")
        await db.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}")

        parent = f"{table}_partitioned"
        await db.execute(f"DROP TABLE IF EXISTS {parent}")  # left by an interrupted run: never swapped
        indexes = await db.fetch(
            """
            SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
                   EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid) AS constraint_index
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass($1)
            """,
            table,
        )
        foreign_keys = await db.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE conrelid = to_regclass($1) AND contype = 'f' AND confrelid <> to_regclass($2)",
            table,
            "workflow_executions",
        )
        self._progress(f"{table}: creating the partitioned table and its months")
        async with db.transaction():
            await db.execute(
                f"CREATE TABLE {parent} (LIKE {table} INCLUDING DEFAULTS INCLUDING STORAGE) "
                "PARTITION BY RANGE (created_at)"
            )
            await db.execute(
                f"ALTER TABLE {parent} ADD CONSTRAINT {parent}_pkey PRIMARY KEY (id, created_at)"
            )
            renames: list[tuple[str, str]] = []
            for index in indexes:
                if index["constraint_index"] or index["name"] in (key, unique):
                    continue
                temporary = f"{index['name'][:55]}_p"
                definition = index["definition"].replace(
                    f"INDEX {index['name']} ON public.{table} ", f"INDEX {temporary} ON {parent} ", 1
                )
                await db.execute(definition)
                renames.append((temporary, index["name"]))
            for foreign in foreign_keys:
                await db.execute(
                    f"ALTER TABLE {parent} ADD CONSTRAINT {foreign['conname']} {foreign['definition']}"
                )
            month = boundary
            for _ in range(self._months_ahead):
                await self._add_month(db, parent, table, month)
                month = add_months(month, 1)
            await db.execute(f"CREATE TABLE {table}_default PARTITION OF {parent} DEFAULT")
            await db.execute(f"CREATE UNIQUE INDEX {table}_default_id_key ON {table}_default (id)")

        legacy = f"{table}_before_{boundary:%Y_%m}"
        self._progress(f"{table}: swapping in the partitioned table (a short exclusive lock)")
        for attempt in range(SWAP_ATTEMPTS):
            try:
                async with db.transaction():
                    await db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                    await db.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                    if table == "workflow_executions":
                        await db.execute("LOCK TABLE step_executions IN ACCESS EXCLUSIVE MODE")
                    late = await db.fetchval("SELECT now() >= $1", boundary)
                    if late:
                        raise RuntimeError(f"{boundary:%Y-%m-%d} was reached before the swap: run again")
                    if table == "workflow_executions":  # it stands on the primary key that goes
                        await db.execute(
                            f"ALTER TABLE step_executions DROP CONSTRAINT IF EXISTS {STEPS_FOREIGN_KEY}"
                        )
                    primary = await db.fetchval(
                        "SELECT conname FROM pg_constraint "
                        "WHERE conrelid = to_regclass($1) AND contype = 'p'",
                        table,
                    )
                    await db.execute(f"ALTER TABLE {table} DROP CONSTRAINT {primary}")
                    await db.execute(
                        f"ALTER TABLE {table} ADD CONSTRAINT {key} PRIMARY KEY USING INDEX {key}"
                    )
                    indexes = await db.fetch(
                        "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "WHERE i.indrelid = to_regclass($1)",
                        table,
                    )
                    for index in indexes:
                        await db.execute(
                            f"ALTER INDEX {index['name']} RENAME TO {index['name'][:55]}_{boundary:%Y%m}"
                        )
                    await db.execute(f"ALTER TABLE {table} RENAME TO {legacy}")
                    await db.execute(f"ALTER TABLE {parent} RENAME TO {table}")
                    await db.execute(f"ALTER INDEX {parent}_pkey RENAME TO {table}_pkey")
                    for temporary, name in renames:
                        await db.execute(f"ALTER INDEX {temporary} RENAME TO {name}")
                    await db.execute(
                        f"ALTER TABLE {table} ATTACH PARTITION {legacy} "
                        f"FOR VALUES FROM (MINVALUE) TO ($q${boundary.isoformat()}$q$)"
                    )
                    await db.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT {check}")
                    if table == "workflow_executions":
                        await db.execute(CASCADE_FUNCTION)
                        await db.execute(CASCADE_TRIGGER)
                break
            except asyncpg.LockNotAvailableError:
                self._progress(f"{table}: busy, trying the swap again ({attempt + 1}/{SWAP_ATTEMPTS})")
        else:
            raise RuntimeError(f"{table}: could not take the lock for the swap; run again when quieter")
        await db.execute(f"ANALYZE {table}")
        self._progress(f"{table}: partitioned (rows before {boundary:%Y-%m-%d} in {legacy})")

    async def _add_month(self, db: asyncpg.Connection, parent: str, table: str, month: datetime) -> str:
        name = month_name(table, month)
        await db.execute(
            f"CREATE TABLE {name} PARTITION OF {parent} FOR VALUES FROM ($q${month.isoformat()}$q$) "
            f"TO ($q${add_months(month, 1).isoformat()}$q$)"
        )
        await db.execute(f"CREATE UNIQUE INDEX {name}_id_key ON {name} (id)")
        return name

    # -- upkeep (the daily maintenance run) -------------------------------------------------------------

    async def add_months_ahead(self, now: datetime | None = None) -> list[str]:
        """Adds the monthly partitions missing up to `months_ahead` months after this one."""
        until = add_months(month_start(now or datetime.now(UTC)), self._months_ahead)

        async def add(db: asyncpg.Connection) -> list[str]:
            added: list[str] = []
            for table in TABLES:
                if not await is_partitioned(db, table):
                    continue
                ranged = [p for p in await partitions_of(db, table) if p.upper is not None]
                month = ranged[-1].upper if ranged else month_start(now or datetime.now(UTC))
                assert month is not None
                while month <= until:
                    try:
                        async with db.transaction():
                            added.append(await self._add_month(db, table, table, month))
                    except asyncpg.CheckViolationError:
                        self._progress(
                            f"{table}: the DEFAULT partition holds rows of {month:%Y-%m}; move them to add "
                            "that month (see docs/scaling.md)"
                        )
                        break
                    month = add_months(month, 1)
            return added

        added: list[str] = await self._run(add)
        for name in added:
            self._progress(f"added partition {name}")
        return added

    async def drop_expired(
        self, executions_before: datetime, audit_before: datetime, *, dry_run: bool = False
    ) -> list[Dropped]:
        """Drops the months entirely past retention (see the module's docstring); returns what went."""

        async def drop(db: asyncpg.Connection) -> list[Dropped]:
            dropped: list[Dropped] = []
            if await is_partitioned(db, "workflow_executions"):
                kept: list[Partition] = []
                gone: list[Partition] = []
                for part in await partitions_of(db, "workflow_executions"):
                    expired = part.upper is not None and part.upper <= executions_before
                    if expired and not await db.fetchval(
                        f"SELECT EXISTS (SELECT FROM {part.name} WHERE status::text = ANY($1))",
                        list(OPEN_STATUSES),
                    ):
                        dropped.append(await self._drop(db, part, dry_run))
                        gone.append(part)
                    elif not part.is_default or await db.fetchval(f"SELECT EXISTS (SELECT FROM {part.name})"):
                        kept.append(part)
                if gone and await is_partitioned(db, "step_executions"):
                    dropped += await self._drop_steps(db, kept, executions_before, gone, dry_run)
            if await is_partitioned(db, "audit_logs"):
                for part in await partitions_of(db, "audit_logs"):
                    if part.upper is not None and part.upper <= audit_before:
                        dropped.append(await self._drop(db, part, dry_run))
            return dropped

        result: list[Dropped] = await self._run(drop)
        return result

    async def _drop_steps(
        self,
        db: asyncpg.Connection,
        kept: list[Partition],
        before: datetime,
        gone: list[Partition],
        dry_run: bool,
    ) -> list[Dropped]:
        """Step months that can only hold steps of runs already gone: past retention, and no month of runs
        kept reaches into them (a step is written within STEP_SPILL of its run's start). Then the few steps
        of gone runs that spilled into the next month are deleted."""
        floor = datetime.min.replace(tzinfo=UTC)
        ceiling = datetime.max.replace(tzinfo=UTC)
        dropped = []
        for part in await partitions_of(db, "step_executions"):
            if part.upper is None or part.upper > before:
                continue
            lower = (part.lower or floor + STEP_SPILL) - STEP_SPILL
            reaching = [k for k in kept if (k.lower or floor) < part.upper and lower < (k.upper or ceiling)]
            for month in reaching:
                if await db.fetchval(
                    f"SELECT EXISTS (SELECT FROM {month.name} WHERE created_at >= $1 AND created_at < $2)",
                    lower,
                    part.upper,
                ):
                    break
            else:
                dropped.append(await self._drop(db, part, dry_run))
        if not dry_run:
            for part in gone:
                assert part.upper is not None
                await db.execute(
                    "DELETE FROM step_executions s WHERE s.created_at >= $1 AND s.created_at < $2 "
                    "AND NOT EXISTS (SELECT FROM workflow_executions e WHERE e.id = s.execution_id)",
                    part.upper,
                    part.upper + STEP_SPILL,
                )
        return dropped

    async def _drop(self, db: asyncpg.Connection, part: Partition, dry_run: bool) -> Dropped:
        rows = int(await db.fetchval(f"SELECT count(*) FROM {part.name}"))
        if not dry_run:
            async with db.transaction():
                await db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                await db.execute(f"ALTER TABLE {part.table} DETACH PARTITION {part.name}")
                await db.execute(f"DROP TABLE {part.name}")
        return Dropped(part, rows)
