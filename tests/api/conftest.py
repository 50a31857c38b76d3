"""API test helpers: the real app (lifespan and all) over an in-process ASGI transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from api.app import create_app
from core.settings import Settings
from tests.chaos.conftest import processes  # noqa: F401 (the fixture, for tests/api/test_fuzz.py)

ClientFactory = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def api_client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as client:
            yield client


@asynccontextmanager
async def served_api(settings: Settings, port: int | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The API behind a real uvicorn server on 127.0.0.1, for what ASGITransport cannot do: it reads a
    whole response before returning it, so it cannot follow an open-ended event stream."""
    import uvicorn

    from api.server import HTTP
    from baton.embedded import free_port

    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
        http=HTTP,  # as `baton api` serves it
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(settings) as client:
        yield client


PASSWORD = "correct horse battery"


async def sign_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Registers and logs in; returns the Authorization header for the new user."""
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"},
    )
    assert response.status_code == 201, response.text
    tokens = (await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).json()
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def published_workflow(
    client: httpx.AsyncClient, email: str, workspace: str, body: dict[str, Any]
) -> tuple[str, dict[str, str], str]:
    """Signs `email` up, opens the workspace `workspace` and creates and publishes the workflow `body` in it:
    (the workspace's base URL, the user's headers, the workflow id)."""
    headers = await sign_up(client, email)
    created = (await client.post("/api/v1/workspaces", headers=headers, json={"name": workspace})).json()
    base = f"/api/v1/workspaces/{created['id']}"
    workflow = await client.post(f"{base}/workflows", headers=headers, json=body)
    assert workflow.status_code == 201, workflow.text
    workflow_id = str(workflow.json()["id"])
    published = await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    assert published.status_code == 201, published.text
    return base, headers, workflow_id


@pytest.fixture
async def api_with_worker(
    settings: Settings, task_queue: str, engine_worker: object
) -> AsyncIterator[httpx.AsyncClient]:
    """The API wired to the test's task queue, with a real worker serving it."""
    del engine_worker  # only needed running
    async with api_client_for(settings.model_copy(update={"temporal_task_queue": task_queue})) as client:
        yield client
