"""POLLING workflows end to end with `rss.new_item` against a local feed: the first poll is a baseline, each
new item runs once, and neither a worker restart nor a new published version re-fires or drops an item."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment

from activities.connections import WorkerCredentials
from activities.triggers import TriggerActivities
from core.contract import TriggerRef, poller_id
from core.crypto import CredentialCipher
from core.quotas import ExecutionQuota, month_start
from core.redis_keys import RedisKeys
from core.runs import RunService, WorkflowCache
from core.settings import Settings
from tests.api.conftest import api_client_for, published_workflow, sign_up
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import eventually
from worker.main import build_worker, warm_up

FEED = "/feed.xml"
STEPS = [{"id": "seen", "type": "set", "values": {"title": "{{ trigger.title }}"}}]


def rss(*items: str) -> Reply:
    entries = "".join(
        f"<item><title>Post {i}</title><link>https://blog.example.com/{i}</link><guid>post-{i}</guid>"
        f"<pubDate>Mon, 0{n + 1} Jun 2026 10:00:00 GMT</pubDate></item>"
        for n, i in enumerate(items)
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>https://blog.example.com</link>{entries}</channel></rss>"
    )
    return Reply(200, body, {"content-type": "application/rss+xml", "etag": f'"{len(items)}"'})


@pytest.fixture
def settings(settings: Settings, task_queue: str) -> Settings:
    """Polls every second in these tests (10 s is the production floor)."""
    return settings.model_copy(update={"min_polling_interval_seconds": 1, "temporal_task_queue": task_queue})


@asynccontextmanager
async def worker(
    client: Client, settings: Settings, engine: AsyncEngine, redis: Redis, task_queue: str
) -> AsyncIterator[None]:
    await warm_up(engine, redis)
    async with (
        httpx.AsyncClient() as http,
        build_worker(client, settings, http, engine, redis, task_queue=task_queue),
    ):
        yield


@dataclass
class Feeds:
    """The API for a test's polling workflows, and a worker on its task queue to start (again)."""

    client: httpx.AsyncClient
    worker: Callable[[], AbstractAsyncContextManager[None]]


@pytest.fixture
async def feeds(
    settings: Settings, temporal_client: Client, engine: AsyncEngine, redis: Redis, task_queue: str
) -> AsyncIterator[Feeds]:
    async with api_client_for(settings) as client:
        yield Feeds(client, lambda: worker(temporal_client, settings, engine, redis, task_queue))


async def polling_workflow(
    client: httpx.AsyncClient, url: str, **config: Any
) -> tuple[str, dict[str, str], str]:
    body = {
        "name": "New posts",
        "triggerType": "POLLING",
        "triggerConfig": {
            "trigger": "rss.new_item",
            "config": {"url": url},
            "pollingIntervalSeconds": 1,
            **config,
        },
        "steps": STEPS,
    }
    return await published_workflow(client, "reader@example.com", "Reader", body)


async def fired(db: asyncpg.Connection, workflow_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT trigger_data FROM workflow_executions WHERE workflow_id = $1 ORDER BY created_at", workflow_id
    )
    return [json.loads(r["trigger_data"])["id"] for r in rows]


async def polls(db: asyncpg.Connection, workflow_id: str) -> Any:
    return await db.fetchval("SELECT last_polled_at FROM poll_states WHERE workflow_id = $1", workflow_id)


async def two_more_polls(db: asyncpg.Connection, workflow_id: str) -> None:
    for _ in range(2):
        before = await polls(db, workflow_id)

        async def moved(before: Any = before) -> bool:
            return bool(await polls(db, workflow_id) != before)

        assert await eventually(moved), "the poller stopped polling"


async def test_baseline_then_each_new_item_once_across_a_worker_restart_and_a_republish(
    feeds: Feeds, temporal_client: Client, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    url = http_server.script(FEED, rss("a", "b"))
    client = feeds.client
    async with feeds.worker():
        base, headers, workflow_id = await polling_workflow(client, url)

        async def baseline_taken() -> Any:
            return await db.fetchval(
                "SELECT baseline_at FROM poll_states WHERE workflow_id = $1", workflow_id
            )

        assert await eventually(baseline_taken)
        await two_more_polls(db, workflow_id)
        assert await fired(db, workflow_id) == []  # the items already there are a baseline, not news

        http_server.script(FEED, rss("a", "b", "c"))

        async def c_fired() -> bool:
            return await fired(db, workflow_id) == ["post-c"]

        assert await eventually(c_fired)
        # conditional GETs: the poller sends back the feed's ETag
        assert any(r.headers.get("If-None-Match") for r in http_server.hits(FEED))

    # the worker is gone; an item published meanwhile is found by the next worker, and nothing re-fires
    http_server.script(FEED, rss("a", "b", "c", "d"))
    async with feeds.worker():

        async def d_fired() -> bool:
            return await fired(db, workflow_id) == ["post-c", "post-d"]

        assert await eventually(d_fired)
        await two_more_polls(db, workflow_id)

        await client.patch(f"{base}/workflows/{workflow_id}", headers=headers, json={"name": "Renamed"})
        assert (
            await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
        ).status_code == 201
        await two_more_polls(db, workflow_id)
        assert await fired(db, workflow_id) == ["post-c", "post-d"]

        http_server.script(FEED, rss("a", "b", "c", "d", "e"))

        async def e_fired() -> bool:
            return await fired(db, workflow_id) == ["post-c", "post-d", "post-e"]

        assert await eventually(e_fired)
        rows = await db.fetch(
            "SELECT status, result FROM workflow_executions WHERE workflow_id = $1", workflow_id
        )

        async def all_done() -> bool:
            rows = await db.fetch(
                "SELECT status FROM workflow_executions WHERE workflow_id = $1", workflow_id
            )
            return all(r["status"] == "SUCCESS" for r in rows)

        assert await eventually(all_done)
        assert len(rows) == 3

        # deactivating stops the poller
        assert (
            await client.post(f"{base}/workflows/{workflow_id}/deactivate", headers=headers)
        ).status_code == 200
        described = await temporal_client.get_workflow_handle(poller_id(workflow_id)).describe()
        assert described.status == WorkflowExecutionStatus.TERMINATED
        await client.delete(f"{base}/workflows/{workflow_id}", headers=headers)


async def test_fire_existing_runs_the_items_already_there(
    feeds: Feeds, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    url = http_server.script(FEED, rss("a", "b"))
    async with feeds.worker():
        base, headers, workflow_id = await polling_workflow(feeds.client, url, fireExisting=True)

        async def both() -> bool:
            return await fired(db, workflow_id) == ["post-a", "post-b"]  # oldest first

        assert await eventually(both)
        await two_more_polls(db, workflow_id)
        assert len(await fired(db, workflow_id)) == 2
        await feeds.client.delete(f"{base}/workflows/{workflow_id}", headers=headers)


async def test_a_feed_that_is_not_a_feed_is_reported_and_the_poller_goes_on(
    feeds: Feeds, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    url = http_server.script(FEED, Reply(200, "<html>not a feed", {"content-type": "text/html"}))
    async with feeds.worker():
        base, headers, workflow_id = await polling_workflow(feeds.client, url)

        async def reported() -> Any:
            return await db.fetchval("SELECT last_error FROM poll_states WHERE workflow_id = $1", workflow_id)

        assert "not a readable RSS or Atom feed" in await eventually(reported)
        http_server.script(FEED, rss("a"))

        async def recovered() -> Any:
            row = await db.fetchrow(
                "SELECT last_error, baseline_at FROM poll_states WHERE workflow_id = $1", workflow_id
            )
            return row["last_error"] is None and row["baseline_at"] is not None

        assert await eventually(recovered)
        await feeds.client.delete(f"{base}/workflows/{workflow_id}", headers=headers)


async def test_an_unknown_trigger_or_bad_config_is_refused_with_its_path(
    api_client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(api_client, "badpoll@example.com")
    workspace = (await api_client.post("/api/v1/workspaces", headers=headers, json={"name": "P"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}"
    for config, path in (
        ({"trigger": "rss.nope", "config": {}}, "triggerConfig.trigger"),
        ({"trigger": "rss.new_item", "config": {}}, "triggerConfig.config"),
        ({"trigger": "rss.new_item", "config": {"url": "ftp://x"}}, "triggerConfig.config.url"),
    ):
        body = {"name": "x", "triggerType": "POLLING", "triggerConfig": config, "steps": STEPS}
        response = await api_client.post(f"{base}/workflows", headers=headers, json=body)
        assert response.status_code == 422, config
        assert response.json()["path"] == path, response.json()


async def test_a_poll_retried_before_it_saved_its_state_starts_nothing_twice(
    settings: Settings,
    temporal_client: Client,
    engine: AsyncEngine,
    redis: Redis,
    db: asyncpg.Connection,
    http_server: ScriptedServer,
) -> None:
    """The poll activity starts runs before it saves the state: if it dies in between, its retry finds the
    same new items again and must start nothing twice (the execution ids derive from the item ids)."""
    url = http_server.script(FEED, rss("a"))
    async with api_client_for(settings) as client:
        base, headers, workflow_id = await polling_workflow(client, url)  # no worker: polls run by hand here
    keys = RedisKeys(settings.redis_key_prefix)
    runs = RunService(
        engine, temporal_client, settings, ExecutionQuota(engine, redis, keys), WorkflowCache(redis, keys)
    )
    async with httpx.AsyncClient() as http:
        activities = TriggerActivities(
            engine, redis, keys, runs, http, WorkerCredentials(engine, CredentialCipher("k")), settings
        )
        environment = ActivityEnvironment()
        baseline = await environment.run(activities.poll_trigger, TriggerRef(workflow_id))
        assert baseline.baseline
        assert baseline.fired == []
        saved = await db.fetchrow(
            "SELECT seen_ids, cursor FROM poll_states WHERE workflow_id = $1", workflow_id
        )
        http_server.script(FEED, rss("a", "b", "c"))
        first = await environment.run(activities.poll_trigger, TriggerRef(workflow_id))
        assert len(first.fired) == 2
        # the crash: the state is as it was before that poll, as if it was never saved
        await db.execute(
            "UPDATE poll_states SET seen_ids = $2, cursor = $3 WHERE workflow_id = $1",
            workflow_id,
            saved["seen_ids"],
            saved["cursor"],
        )
        retried = await environment.run(activities.poll_trigger, TriggerRef(workflow_id))
    assert sorted(retried.fired) == sorted(first.fired)  # the same runs, found again...
    assert await fired(db, workflow_id) == ["post-b", "post-c"]  # ...but each started once
    described = [await temporal_client.get_workflow_handle(f"run-{e}").describe() for e in first.fired]
    assert len(described) == 2
    workspace_id = await db.fetchval("SELECT workspace_id FROM workflows WHERE id = $1", workflow_id)
    quota = await redis.get(
        ExecutionQuota(engine, redis, keys).key(workspace_id, month_start(datetime.now(UTC)))
    )
    assert quota == "2"  # and counted once against the quota
    for execution_id in first.fired:
        await temporal_client.get_workflow_handle(f"run-{execution_id}").terminate()
