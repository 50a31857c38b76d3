"""`baton seed`: writes the catalogue and the default templates from code, idempotently.

Each row is upserted with `ON CONFLICT DO UPDATE ... WHERE <some column IS DISTINCT FROM>`, so a second run
writes nothing (no `updated_at` churn) and a changed declaration updates exactly its row. Rows whose code
is gone are deactivated, not deleted: connections and workflows may still point at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.catalogue import forget_integrations
from core.catalogue_rows import TableReport, deactivate_missing, upsert_rows
from core.db import create_engine
from core.imported_services import not_imported
from core.models import Action, Integration, Trigger, WorkflowTemplate
from core.models.tables import table_of
from core.redis_keys import RedisKeys
from core.settings import Settings
from integrations.catalogue import INTEGRATIONS, action_rows, integration_rows, trigger_rows
from integrations.templates import template_rows


@dataclass
class SeedReport:
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(r.inserted or r.updated or r.deactivated for r in self.tables.values())


async def seed(engine: AsyncEngine) -> SeedReport:
    """Writes integrations, triggers, actions and workflow templates in one transaction."""
    report = SeedReport()
    async with engine.begin() as connection:
        for name, model, rows, among in (
            ("integrations", Integration, integration_rows(), not_imported(table_of(Integration).c.id)),
            ("triggers", Trigger, trigger_rows(), None),
            ("actions", Action, action_rows(), not_imported(table_of(Action).c.integration_id)),
        ):
            # the rows of services imported from OpenAPI documents are the import's, not the code's
            table_report = await upsert_rows(connection, model, rows)
            ids = [r["id"] for r in rows]
            table_report.deactivated = await deactivate_missing(connection, model, ids, among)
            report.tables[name] = table_report
        report.tables["workflow_templates"] = await upsert_rows(connection, WorkflowTemplate, template_rows())
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
