"""Scaling out: two workers on one task queue share the runs, and each run's effects still happen once.

Each worker has its own Temporal client (and so its own identity, which the history records on every
workflow task it takes): the histories show which worker ran what (docs/scaling.md)."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from core.codec import data_converter
from core.settings import Settings
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer
from worker.main import build_worker, log_writers

RUNS = 40


async def test_two_workers_on_one_task_queue_split_the_runs(
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    task_queue: str,
    db: asyncpg.Connection,
    temporal_client: Client,
    http_server: ScriptedServer,
) -> None:
    http_server.script("/work", Reply(200, {"ok": True}))
    steps = [
        {
            "id": "call",
            "type": "action",
            "action": "http.request",
            "input": {"url": http_server.base_url + "/work"},
        },
        {"id": "note", "type": "set", "values": {"done": True}},
    ]
    workflow_id = await create_workflow(db, steps)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient())
        for name in ("worker-a", "worker-b"):
            client = await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                identity=name,
                data_converter=data_converter(settings),
            )
            writers = log_writers(settings, engine)
            worker = build_worker(
                client, settings, http, engine, redis, task_queue=task_queue, writers=writers
            )
            await stack.enter_async_context(worker)
        runner = Engine(temporal_client, db, task_queue)
        handles = [await runner.start(steps, workflow_id=workflow_id) for _ in range(RUNS)]
        results = await asyncio.gather(*(handle.result() for handle in handles))
    assert all(result.status == "SUCCESS" for result in results)

    ran_by: Counter[str] = Counter()
    for handle in handles:
        history = await handle.fetch_history()
        takers = {
            event.workflow_task_started_event_attributes.identity
            for event in history.events
            if event.HasField("workflow_task_started_event_attributes")
        }
        assert len(takers) == 1, takers  # short runs stay on the worker that took them (sticky queue)
        ran_by[takers.pop()] += 1
    assert set(ran_by) == {"worker-a", "worker-b"}, ran_by
    assert sum(ran_by.values()) == RUNS
    # Each run called the service once, whichever worker ran it; the records are exact.
    assert len(http_server.hits("/work")) == RUNS
    rows = await db.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = $1 AND status = 'SUCCESS'", workflow_id
    )
    assert rows == RUNS
