"""Liveness and readiness: /readyz names every dependency that is down."""

from __future__ import annotations

import httpx

from baton.embedded import free_port
from core.settings import Settings
from tests.api.conftest import api_client_for


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
