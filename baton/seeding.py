"""`baton seed`: writes the catalogue and the default templates from code, idempotently.

Each row is upserted with `ON CONFLICT DO UPDATE ... WHERE <some column IS DISTINCT FROM>`, so a second run
writes nothing (no `updated_at` churn) and a changed declaration updates exactly its row. Rows whose code
is gone are deactivated, not deleted: connections and workflows may still point at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import literal_column, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from core.catalogue import forget_integrations
from core.db import create_engine
from core.models import Action, Integration, Trigger, WorkflowTemplate
from core.models.tables import table_of
from core.redis_keys import RedisKeys
from core.settings import Settings
from integrations.catalogue import INTEGRATIONS, action_rows, integration_rows, trigger_rows
from integrations.templates import template_rows


@dataclass
class TableReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0

    def __str__(self) -> str:
        text = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.deactivated} deactivated" if self.deactivated else "")


@dataclass
class SeedReport:
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(r.inserted or r.updated or r.deactivated for r in self.tables.values())


async def _upsert(
    connection: AsyncConnection, model: type[SQLModel], rows: list[dict[str, Any]]
) -> TableReport:
    table = table_of(model)
    report = TableReport()
    for row in rows:
        inserting = insert(table).values(**row)
        changing = [c for c in row if c != "id"]
        statement: Any = inserting.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={c: inserting.excluded[c] for c in changing},
            where=or_(*(table.c[c].is_distinct_from(inserting.excluded[c]) for c in changing)),
        ).returning(literal_column("xmax = 0"))
        # PostgreSQL's xmax is 0 on a freshly inserted row version and set on one written by an update.
        result = (await connection.execute(statement)).first()
        if result is None:
            report.unchanged += 1
        elif result[0]:
            report.inserted += 1
        else:
            report.updated += 1
    return report


async def _deactivate_missing(connection: AsyncConnection, model: type[SQLModel], ids: list[str]) -> int:
    table = table_of(model)
    result = await connection.execute(
        update(table).where(table.c.id.not_in(ids), table.c.is_active.is_(True)).values(is_active=False)
    )
    return int(result.rowcount or 0)


async def seed(engine: AsyncEngine) -> SeedReport:
    """Writes integrations, triggers, actions and workflow templates in one transaction."""
    report = SeedReport()
    async with engine.begin() as connection:
        for name, model, rows in (
            ("integrations", Integration, integration_rows()),
            ("triggers", Trigger, trigger_rows()),
            ("actions", Action, action_rows()),
        ):
            table_report = await _upsert(connection, model, rows)
            table_report.deactivated = await _deactivate_missing(connection, model, [r["id"] for r in rows])
            report.tables[name] = table_report
        report.tables["workflow_templates"] = await _upsert(connection, WorkflowTemplate, template_rows())
    return report


async def seed_database(
    database_url: str, settings: Settings, redis_url: str | None = None
) -> dict[str, str]:
    """Seeds the database at `database_url`; returns a line per table saying what changed. When rows
    changed and a Redis URL is given, the cached `integration:{id}` entries are dropped (best effort)."""
    engine = create_engine(settings, database_url=database_url)
    try:
        report = await seed(engine)
    finally:
        await engine.dispose()
    lines = {name: str(table) for name, table in report.tables.items()}
    if report.changed and redis_url:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            await forget_integrations(redis, RedisKeys(settings.redis_key_prefix), list(INTEGRATIONS))
        except RedisError as exc:
            lines["cache"] = f"could not drop cached integrations ({exc}); they expire within an hour"
        finally:
            await redis.aclose()
    return lines
