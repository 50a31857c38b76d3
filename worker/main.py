"""The worker process: connects to Temporal and serves Baton's task queue until stopped."""

from __future__ import annotations

import asyncio
import logging

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.actions import ActionActivities
from core.settings import Settings
from core.temporal import connect_temporal

logger = logging.getLogger("baton.worker")


def build_worker(
    client: Client, settings: Settings, http: httpx.AsyncClient, *, task_queue: str | None = None
) -> Worker:
    """Lists, explicitly, what this worker hosts."""
    actions = ActionActivities(http)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=[],
        activities=[*actions.activities()],
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    client = await connect_temporal(settings, timeout=30)
    async with httpx.AsyncClient(follow_redirects=True) as http:
        worker = build_worker(client, settings, http)
        logger.info(
            "worker serving task queue %r on %s", settings.temporal_task_queue, settings.temporal_address
        )
        async with worker:
            await (stop.wait() if stop else asyncio.Event().wait())
