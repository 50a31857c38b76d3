"""`baton setup-temporal`: registers Baton's search attributes on a Temporal cluster, idempotently.

The embedded dev server gets them on its command line; a production cluster (self-hosted or Temporal
Cloud through its own tooling) gets them once from this command.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client

from core.temporal import SEARCH_ATTRIBUTES, missing_search_attributes

INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


async def register_search_attributes(client: Client) -> list[str]:
    """Adds the missing ones; returns the names it added (empty when all were there)."""
    missing = {
        name: INDEXED_TYPES[SEARCH_ATTRIBUTES[name]] for name in await missing_search_attributes(client)
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
