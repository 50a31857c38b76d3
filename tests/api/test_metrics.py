"""`GET /metrics`: the API's requests and latency by route template, and webhooks accepted; the worker's
Prometheus endpoint: the Temporal SDK's metrics plus runs started/finished and action step durations."""

from __future__ import annotations

import re
import socket
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError

from baton.embedded import free_port
from core.settings import Settings
from core.temporal import connect_temporal
from tests.api.conftest import api_client_for
from tests.api.test_webhooks import webhook_workflow
from tests.engine import Engine
from worker.main import build_worker, metrics_runtime


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_the_api_counts_requests_by_route_and_webhooks_accepted(
    api_with_worker: httpx.AsyncClient,
) -> None:
    client = api_with_worker
    base, headers, _, hook = await webhook_workflow(client)
    for _ in range(2):
        assert (await client.get(f"{base}/workflows", headers=headers)).status_code == 200
    assert (await client.post(f"/hooks/{hook['token']}", json={"name": "Ada"})).status_code == 202
    assert (await client.post("/hooks/not-a-token", json={})).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404

    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    figures = samples(answer.text)
    route = "/workspaces/{workspace_id}/workflows"  # the template, under whatever prefix
    assert (
        figures[("baton_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))] == 2
    )
    assert figures[("baton_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))] == 2
    assert figures[("baton_webhook_accepts_total", (("status", "202"),))] == 1
    hooks = (("method", "POST"), ("route", "/hooks/{token}"), ("status", "404"))
    assert figures[("baton_http_requests_total", hooks)] == 1
    assert (
        figures[("baton_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))]
        == 1
    )
    assert workspace_id_free(answer.text)


def workspace_id_free(text: str) -> bool:
    """Series are labelled by route templates, never by raw paths with ids in them."""
    return re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text) is None


async def test_metrics_want_the_token_and_are_closed_outside_development_without_one(
    settings: Settings,
) -> None:
    production = settings.model_copy(update={"environment": "production", "secret_key": "m" * 64})
    async with api_client_for(production) as client:
        closed = await client.get("/metrics")
        assert closed.status_code == 403
        assert "METRICS_TOKEN" in closed.json()["detail"]
    guarded = production.model_copy(update={"metrics_token": "scrape-me-please"})
    async with api_client_for(guarded) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me-please!"}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error"] == "unauthenticated"
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert allowed.status_code == 200
        assert "baton_http_requests_total" in allowed.text


async def test_the_worker_serves_sdk_and_baton_metrics(
    settings: Settings, engine: AsyncEngine, redis: Redis, engine_worker: Engine
) -> None:
    port = free_port()
    runtime = metrics_runtime(settings.model_copy(update={"worker_metrics_port": port}))
    assert runtime is not None
    client = await connect_temporal(settings, runtime=runtime)
    queue = f"metrics-{uuid.uuid4().hex}"
    parse = {"id": "parse", "type": "action", "action": "transform.parse_json"}
    async with httpx.AsyncClient() as http:
        async with build_worker(client, settings, http, engine, redis, task_queue=queue):
            runner = Engine(client, engine_worker.db, queue)
            assert (await runner.run([{**parse, "input": {"text": "[1]"}}])).status == "SUCCESS"
            failing = await runner.start([{**parse, "input": {"text": "{"}}])
            with pytest.raises(WorkflowFailureError):
                await failing.result()
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    figures = samples(text)

    def total(prefix: str) -> float:
        return sum(value for (name, _), value in figures.items() if name.startswith(prefix))

    assert total("temporal_workflow_completed") >= 1  # the SDK's own
    assert total("baton_executions_started") == 2
    assert total("baton_executions_completed") == 1
    assert total("baton_executions_failed") == 1
    steps = {
        dict(labels)["outcome"]: value
        for (name, labels), value in figures.items()
        if name == "baton_step_duration_seconds_count"
        and dict(labels).get("action") == "transform.parse_json"
    }
    assert sum(steps.values()) == 2
    assert steps["success"] == 1


def test_a_taken_metrics_port_leaves_the_worker_running_without_metrics(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert metrics_runtime(settings.model_copy(update={"worker_metrics_port": port})) is None
    assert metrics_runtime(settings.model_copy(update={"worker_metrics_port": 0})) is None
