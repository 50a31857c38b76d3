"""Connecting to Temporal, and Baton's search attributes (so the Web UI filters runs by workspace...)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributeKey
from temporalio.runtime import Runtime

from core.codec import data_converter
from core.settings import Settings

SEARCH_ATTRIBUTES: dict[str, str] = {
    "BatonWorkspaceId": "Keyword",
    "BatonWorkflowId": "Keyword",
    "BatonWorkflowVersion": "Int",
    "BatonTriggerType": "Keyword",
}

WORKSPACE_ID = SearchAttributeKey.for_keyword("BatonWorkspaceId")
WORKFLOW_ID = SearchAttributeKey.for_keyword("BatonWorkflowId")
WORKFLOW_VERSION = SearchAttributeKey.for_int("BatonWorkflowVersion")
TRIGGER_TYPE = SearchAttributeKey.for_keyword("BatonTriggerType")


async def connect_temporal(
    settings: Settings, *, timeout: float = 10.0, runtime: Runtime | None = None
) -> Client:
    return await asyncio.wait_for(
        Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            runtime=runtime,
            data_converter=data_converter(settings),
        ),
        timeout,
    )


class TemporalConnector:
    """Connects on first use and keeps the client, so a process can start before Temporal is up."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self, *, timeout: float = 5.0) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await connect_temporal(self._settings, timeout=timeout)
            return self._client

    def use(self, client: Client) -> None:
        """Shares a client connected elsewhere (`baton serve`: the co-located worker's)."""
        self._client = client

    async def check_health(self, *, timeout: float = 2.0) -> None:
        client = await self.get(timeout=timeout)
        await asyncio.wait_for(client.service_client.check_health(), timeout)


async def upsert_schedule(client: Client, schedule_id: str, schedule: Schedule, **create: Any) -> str:
    """Creates a Temporal Schedule, or gives an existing one this spec, policy and action (unpaused).
    `create`: what only a new schedule takes (search attributes). Returns "created" or "updated"."""
    try:
        await client.create_schedule(schedule_id, schedule, **create)
        return "created"
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        return "updated"
