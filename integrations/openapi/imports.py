"""Importing a service described by an OpenAPI document (`baton integrations import`, POST
/api/v1/integrations/import), and loading the imported services into a process's catalogue when it starts
(API and worker: a worker started after an import runs its actions)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import Conflict, InvalidDefinition
from core.imported_services import imported_descriptions, save_service
from integrations.catalogue import (
    IMPORTED_IDS,
    INTEGRATIONS,
    action_rows,
    integration_rows,
    register_imported,
)
from integrations.openapi.document import parse_document, read_service
from integrations.openapi.service import build_integration
from integrations.sdk import Integration

logger = logging.getLogger("baton.openapi")
# How often an API process reads the imported services again (keep_imported_services).
REFRESH_SECONDS = 30.0
DOCS_ANCHOR = "docs/integrations.md#services-described-by-openapi"


def describe(
    source: str | bytes | dict[str, Any], *, service_id: str | None = None, base_url: str | None = None
) -> dict[str, Any]:
    """The service description of a document (text or parsed), its base URL overridden when given."""
    document = source if isinstance(source, dict) else parse_document(source)
    description = read_service(document, service_id=service_id)
    if base_url is not None:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidDefinition("baseUrl must be an http(s) URL", path="baseUrl")
        description["baseUrl"] = base_url.rstrip("/")
    return description


async def import_service(
    connection: AsyncConnection,
    source: str | bytes | dict[str, Any],
    *,
    service_id: str | None = None,
    base_url: str | None = None,
    imported_by: str | None = None,
) -> Integration:
    """Reads the document, stores the service and its catalogue rows, and registers its integration in
    this process. Importing again under the same id replaces it; a built-in integration's id is a 409."""
    description = describe(source, service_id=service_id, base_url=base_url)
    sid = description["id"]
    if sid in INTEGRATIONS and sid not in IMPORTED_IDS:
        raise Conflict(f"{sid!r} is a built-in integration; import under another id", path="id")
    integration = build_integration(description)
    raw = source if isinstance(source, bytes | str) else json.dumps(source, sort_keys=True)
    digest = hashlib.sha256(raw.encode() if isinstance(raw, str) else raw).hexdigest()
    (row,) = integration_rows([integration])
    await save_service(
        connection,
        description,
        source_sha256=digest,
        imported_by=imported_by,
        integration_row={**row, "docs_url": DOCS_ANCHOR},
        action_rows=action_rows([integration]),
    )
    register_imported(integration)
    return integration


async def load_imported_services(engine: AsyncEngine) -> list[str]:
    """Registers every stored imported service in this process's catalogue; their ids. One that no longer
    builds (a description from an older Baton) is logged and left out, never stopping the process."""
    loaded = []
    for description in await imported_descriptions(engine):
        try:
            register_imported(build_integration(description))
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("imported service %s is left out: %s", description.get("id"), exc)
            continue
        loaded.append(str(description["id"]))
    return loaded


async def keep_imported_services(engine: AsyncEngine, interval: float = REFRESH_SECONDS) -> None:
    """Loads the imported services again every `interval` seconds, for ever: an API process learns of an
    import made by another process (or `baton integrations import`) without a restart. A failed load is
    logged and tried again at the next turn."""
    while True:
        await asyncio.sleep(interval)
        try:
            await load_imported_services(engine)
        except Exception:
            logger.warning("could not load the imported integrations again", exc_info=True)
