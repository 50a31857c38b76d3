"""Liveness and readiness: /readyz names every dependency that is down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

from baton.embedded import free_port
from baton.temporal_setup import register_search_attributes
from core.settings import Settings
from core.temporal import SEARCH_ATTRIBUTES, connect_temporal
from tests.api.conftest import api_client_for, sign_up


async def test_healthz_answers_while_the_process_lives(api_client: httpx.AsyncClient) -> None:
    response = await api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_every_dependency_answers(api_client: httpx.AsyncClient) -> None:
    response = await api_client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"postgresql", "redis", "temporal", "log_store (postgresql)"}
    assert set(body["checks"].values()) == {"ok"}


async def test_readyz_is_503_naming_redis_and_temporal_when_they_are_down(settings: Settings) -> None:
    broken = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
            "temporal_address": f"127.0.0.1:{free_port()}",
        }
    )
    async with api_client_for(broken) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_ready"
    assert body["detail"] == "Not ready: redis, temporal down"
    assert body["checks"]["postgresql"] == "ok"
    assert body["checks"]["redis"].startswith("down:")


async def test_readyz_names_postgresql_and_the_log_store_when_the_database_is_down(
    settings: Settings,
) -> None:
    broken = settings.model_copy(update={"database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/x"})
    async with api_client_for(broken) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "Not ready: postgresql, log_store (postgresql) down"


async def test_unknown_paths_answer_the_error_shape(api_client: httpx.AsyncClient) -> None:
    response = await api_client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found", "path": None}


async def test_the_openapi_document_describes_the_readiness_failure(api_client: httpx.AsyncClient) -> None:
    document = (await api_client.get("/openapi.json")).json()
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]


async def test_oversized_bodies_are_refused_with_413(api_client: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = await api_client.post(
        "/api/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 65536

    streamed = await api_client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_a_namespace_without_batons_search_attributes_is_not_ready_and_starts_say_how_to_fix_it(
    settings: Settings, task_queue: str
) -> None:
    """A production install that skipped `baton setup-temporal`: readiness names the missing attributes and a
    run start answers 503 with the command, not 500; once the command has run, both are fine."""
    namespace = f"bare-{uuid.uuid4().hex[:8]}"
    operator = await connect_temporal(settings)
    await operator.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    bare = settings.model_copy(update={"temporal_namespace": namespace, "temporal_task_queue": task_queue})
    async with api_client_for(bare) as client:
        for _ in range(100):  # a new namespace takes a moment to be served
            response = await client.get("/readyz")
            if "search attributes" in response.json()["checks"]["temporal"]:
                break
            await asyncio.sleep(0.2)
        assert response.status_code == 503, response.text
        assert response.json()["detail"] == "Not ready: temporal down"
        check = response.json()["checks"]["temporal"]
        assert "BatonWorkflowId" in check
        assert "BatonWorkspaceId" in check
        assert "baton setup-temporal" in check

        headers = await sign_up(client, "bare-namespace@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "W"})).json()
        base = f"/api/v1/workspaces/{workspace['id']}/workflows"
        definition = {
            "name": "n",
            "triggerType": "MANUAL",
            "steps": [{"id": "s", "type": "set", "values": {}}],
        }
        workflow = (await client.post(base, headers=headers, json=definition)).json()
        assert (
            await client.post(f"{base}/{workflow['id']}/publish", headers=headers, json={})
        ).status_code == 201
        refused = await client.post(f"{base}/{workflow['id']}/run?wait=false", headers=headers, json={})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "unavailable"
        assert "baton setup-temporal" in refused.json()["detail"]
        assert "BatonTriggerType" in refused.json()["detail"]

        added = await register_search_attributes(await connect_temporal(bare))
        assert added == sorted(SEARCH_ATTRIBUTES)
        for _ in range(100):
            response = await client.get("/readyz")
            if response.status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert response.status_code == 200, response.text
        started = await client.post(f"{base}/{workflow['id']}/run?wait=false", headers=headers, json={})
        assert started.status_code in (201, 202), started.text
