"""Connecting to Temporal, and Baton's search attributes (so the Web UI filters runs by workspace...)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributeKey
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from core.codec import data_converter
from core.search_attributes import SEARCH_ATTRIBUTES as SEARCH_ATTRIBUTES
from core.settings import Settings

WORKSPACE_ID = SearchAttributeKey.for_keyword("BatonWorkspaceId")
WORKFLOW_ID = SearchAttributeKey.for_keyword("BatonWorkflowId")
WORKFLOW_VERSION = SearchAttributeKey.for_int("BatonWorkflowVersion")
TRIGGER_TYPE = SearchAttributeKey.for_keyword("BatonTriggerType")
SETUP_COMMAND = "baton setup-temporal"


class SearchAttributesMissing(Exception):
    """The namespace lacks Baton's search attributes: every run start would be refused until they exist."""

    def __init__(self, namespace: str, missing: list[str]) -> None:
        self.namespace = namespace
        self.missing = missing
        super().__init__(
            f"the Temporal namespace {namespace!r} lacks Baton's search attributes {', '.join(missing)}: run "
            f"`{SETUP_COMMAND}` once against it (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)"
        )


async def missing_search_attributes(client: Client) -> list[str]:
    """Baton's search attributes the client's namespace does not have (sorted; empty when all are)."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    return sorted(name for name in SEARCH_ATTRIBUTES if name not in known)


def names_a_missing_search_attribute(exc: RPCError) -> bool:
    """Whether Temporal refused a start because a search attribute Baton sets is not registered."""
    return exc.status == RPCStatusCode.INVALID_ARGUMENT and "search attribute" in exc.message.lower()


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
        self._attributes_seen_at: float | None = None  # when all search attributes were last found

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

    async def check_search_attributes(self, *, timeout: float = 2.0) -> None:
        """SearchAttributesMissing when the namespace lacks some; a cluster that will not list them to
        Baton (a cloud namespace's API key without the operator role) passes: starts will say. Found once,
        they are looked for again after a minute only."""
        now = asyncio.get_running_loop().time()
        if self._attributes_seen_at is not None and now - self._attributes_seen_at < 60:
            return
        client = await self.get(timeout=timeout)
        try:
            missing = await asyncio.wait_for(missing_search_attributes(client), timeout)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
                return
            raise
        if missing:
            raise SearchAttributesMissing(client.namespace, missing)
        self._attributes_seen_at = now


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
