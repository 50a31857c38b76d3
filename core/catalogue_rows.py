"""Writing catalogue rows (integrations, triggers, actions, templates) idempotently: `baton seed` writes
those the code declares, an OpenAPI import those of one imported service.

Each row is upserted with `ON CONFLICT DO UPDATE ... WHERE <some column IS DISTINCT FROM>`, so a second
write changes nothing (no `updated_at` churn) and a changed declaration updates exactly its row. Rows whose
declaration is gone are deactivated, not deleted: connections and workflows may still point at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, literal_column, or_, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from core.models.tables import table_of


@dataclass
class TableReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0

    def __str__(self) -> str:
        text = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.deactivated} deactivated" if self.deactivated else "")


async def upsert_rows(
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


async def deactivate_missing(
    connection: AsyncConnection,
    model: type[SQLModel],
    ids: list[str],
    among: ColumnElement[bool] | None = None,
) -> int:
    """Deactivates the rows (`among` them: one integration's actions) whose id is not in `ids`."""
    table = table_of(model)
    result = await connection.execute(
        update(table)
        .where(table.c.id.not_in(ids), table.c.is_active.is_(True), among if among is not None else true())
        .values(is_active=False)
    )
    return int(result.rowcount or 0)
