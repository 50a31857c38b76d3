"""Integration tests run published workflows through the real API and a real worker: a user signs up,
creates connections and workflows over REST, and runs them; the services are local fakes (tests.fakes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from baton.seeding import seed
from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up
from tests.conftest import running_engine
from tests.engine import Engine
from tests.factories import action_step
from tests.http_server import ScriptedServer, serving


@dataclass
class Studio:
    """One user's workspace, driven over the REST API."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    base: str
    db: asyncpg.Connection
    engine: Engine

    async def connect(
        self, integration_id: str, credentials: dict[str, Any], rate_limit: dict[str, int] | None = None
    ) -> str:
        body: dict[str, Any] = {
            "integrationId": integration_id,
            "name": integration_id,
            "credentials": credentials,
        }
        if rate_limit:
            body["rateLimit"] = rate_limit
        created = await self.client.post(f"{self.base}/connections", headers=self.headers, json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def publish(
        self,
        steps: list[dict[str, Any]],
        trigger_type: str = "MANUAL",
        trigger_config: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> str:
        """Creates the workflow (named `name`, or a random name) and publishes it; its id."""
        body = {
            "name": name or f"wf-{uuid.uuid4().hex[:6]}",
            "triggerType": trigger_type,
            "triggerConfig": trigger_config or {},
            "steps": steps,
        }
        created = await self.client.post(f"{self.base}/workflows", headers=self.headers, json=body)
        assert created.status_code == 201, created.text
        workflow_id = str(created.json()["id"])
        published = await self.client.post(
            f"{self.base}/workflows/{workflow_id}/publish", headers=self.headers, json={}
        )
        assert published.status_code == 201, published.text
        return workflow_id

    async def poll(
        self, trigger: str, config: dict[str, Any], connection: str, steps: list[dict[str, Any]]
    ) -> str:
        """Publishes a POLLING workflow of `trigger` (polled every second) running `steps` for each item."""
        return await self.publish(
            steps,
            "POLLING",
            {"trigger": trigger, "config": config, "connectionId": connection, "pollingIntervalSeconds": 1},
        )

    async def run_action(
        self,
        step_id: str,
        action: str,
        connection: str | None,
        data: dict[str, Any],
        payload: Any = None,
        **more: Any,
    ) -> dict[str, Any]:
        """Publishes one `action_step` and answers its finished run."""
        return await self.run(
            await self.publish([action_step(step_id, action, data, connection, **more)]), payload
        )

    async def run(self, workflow_id: str, payload: Any = None, timeout: float = 60) -> dict[str, Any]:
        """Runs the published version and answers the finished execution with its steps."""
        started = await self.client.post(
            f"{self.base}/workflows/{workflow_id}/run",
            headers=self.headers,
            params={"wait": "true", "timeoutSeconds": timeout},
            json={"payload": payload or {}},
        )
        assert started.status_code == 200, started.text
        return await self.execution(started.json()["id"])

    async def start(self, workflow_id: str, payload: Any = None) -> str:
        """Starts a run of the published version without waiting for it; its execution id."""
        started = await self.client.post(
            f"{self.base}/workflows/{workflow_id}/run", headers=self.headers, json={"payload": payload or {}}
        )
        assert started.status_code == 202, started.text
        return str(started.json()["id"])

    async def until(
        self, execution_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any] | None:
        """The execution (with its steps) once `check` holds for it; None when it did not in time."""

        async def polled() -> dict[str, Any] | None:
            execution = await self.execution(execution_id)
            return execution if check(execution) else None

        found: dict[str, Any] | None = await eventually(polled, timeout)
        return found

    async def execution(self, execution_id: str) -> dict[str, Any]:
        detail = await self.client.get(f"{self.base}/executions/{execution_id}", headers=self.headers)
        assert detail.status_code == 200, detail.text
        execution: dict[str, Any] = detail.json()
        execution["steps"] = {s["stepId"]: s for s in execution["stepExecutions"]}
        return execution

    async def executions(self, workflow_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            "SELECT id FROM workflow_executions WHERE workflow_id = $1 ORDER BY created_at", workflow_id
        )
        return [await self.execution(r["id"]) for r in rows]

    async def usage(self) -> list[dict[str, Any]]:
        assert self.engine.usage is not None
        await self.engine.usage.flush()
        rows = await self.db.fetch("SELECT * FROM integration_usage ORDER BY timestamp")
        return [dict(r) for r in rows]


def live_is(state: str) -> Callable[[dict[str, Any]], bool]:
    """For `Studio.until`: the execution's `live.state` is `state` (waiting, retrying, ...)."""
    return lambda execution: bool(execution["live"]) and execution["live"]["state"] == state


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


def allow_baton_database(settings: Settings, database_url: str) -> Settings:
    """Settings under which workflows may reach Baton's own PostgreSQL server (the test database is on it),
    as an operator allows it: OUTBOUND_ALLOW_BATON_SERVERS."""
    parts = urlsplit(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    return settings.model_copy(
        update={"outbound_allow_baton_servers": [f"{parts.hostname}:{parts.port or 5432}"]}
    )


@pytest.fixture
def settings(settings: Settings, task_queue: str) -> Settings:
    """Pollers may poll every second here (10 s is the production floor)."""
    return settings.model_copy(update={"min_polling_interval_seconds": 1, "temporal_task_queue": task_queue})


@dataclass
class Restartable:
    """A workspace on the API whose worker a test stops and starts (`async with restartable.worker() as
    engine:`), for runs that must outlive a worker restart; `studio(engine)` drives it as `studio` does."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    base: str
    db: asyncpg.Connection
    worker: Callable[[], AbstractAsyncContextManager[Engine]]

    def studio(self, engine: Engine) -> Studio:
        return Studio(self.client, self.headers, self.base, self.db, engine)


@pytest.fixture
async def restartable(
    settings: Settings,
    temporal_client: Client,
    engine: AsyncEngine,
    redis: Redis,
    task_queue: str,
    db: asyncpg.Connection,
) -> AsyncIterator[Restartable]:
    await seed(engine)
    async with api_client_for(settings) as client:
        headers = await sign_up(client, f"user-{uuid.uuid4().hex[:6]}@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "Studio"})).json()
        yield Restartable(
            client,
            headers,
            f"/api/v1/workspaces/{workspace['id']}",
            db,
            lambda: running_engine(temporal_client, settings, engine, redis, task_queue, db),
        )


@pytest.fixture
async def studio(
    settings: Settings, engine: AsyncEngine, engine_worker: Engine, db: asyncpg.Connection
) -> AsyncIterator[Studio]:
    await seed(engine)
    async with api_client_for(settings) as client:
        headers = await sign_up(client, f"user-{uuid.uuid4().hex[:6]}@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "Studio"})).json()
        yield Studio(client, headers, f"/api/v1/workspaces/{workspace['id']}", db, engine_worker)


# A local model server for the LLM tests, scripted with tests/integrations/llm_servers.py.
model_server = serving(ScriptedServer)
