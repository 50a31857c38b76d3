"""Storage of services imported from OpenAPI documents: the `imported_services` row (the description
integrations.openapi builds the integration from) and its catalogue rows, written together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.catalogue_rows import deactivate_missing, upsert_rows
from core.models import Action, ImportedService, Integration
from core.models.tables import table_of


def not_imported(column: Any) -> ColumnElement[bool]:
    """`column` (an integration id) names no imported service: what `baton seed` may deactivate."""
    return column.not_in(select(table_of(ImportedService).c.id))  # type: ignore[no-any-return]


async def save_service(
    connection: AsyncConnection,
    description: dict[str, Any],
    *,
    source_sha256: str,
    imported_by: str | None,
    integration_row: dict[str, Any],
    action_rows: list[dict[str, Any]],
) -> None:
    """Writes (or replaces) a service and its catalogue rows; its actions gone from the new document are
    deactivated (workflows may still name them)."""
    await upsert_rows(connection, Integration, [integration_row])
    await upsert_rows(
        connection,
        ImportedService,
        [
            {
                "id": description["id"],
                "description": description,
                "source_sha256": source_sha256,
                "imported_by": imported_by,
            }
        ],
    )
    await upsert_rows(connection, Action, action_rows)
    actions = table_of(Action)
    await deactivate_missing(
        connection, Action, [r["id"] for r in action_rows], actions.c.integration_id == description["id"]
    )


async def imported_descriptions(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every imported service's description, by id."""
    table = table_of(ImportedService)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(table.c.description).order_by(table.c.id))).all()
    return [dict(row[0]) for row in rows]


async def is_imported(connection: AsyncConnection, service_id: str) -> bool:
    table = table_of(ImportedService)
    found = await connection.execute(select(table.c.id).where(table.c.id == service_id))
    return found.first() is not None
