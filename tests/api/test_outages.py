"""The API with Redis out of reach (core.outages): webhooks still start their runs (caches read PostgreSQL,
the rate limit lets calls through, the quota is counted in PostgreSQL), and what cannot be done safely
without Redis answers 503 with Retry-After and the server's name, never a 500."""

from __future__ import annotations

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from baton.embedded import free_port
from core.settings import Settings
from tests.api.conftest import PASSWORD, api_client_for
from tests.api.test_webhooks import webhook_workflow
from tests.conftest import running_engine


async def test_with_redis_out_of_reach_webhooks_start_runs_and_the_rest_answers_503(
    api_client: httpx.AsyncClient, settings: Settings, db: asyncpg.Connection, temporal_client: Client
) -> None:
    base, headers, workflow_id, hook = await webhook_workflow(api_client, email="outage@example.com")
    await db.execute("UPDATE workspaces SET max_executions = 2")  # the quota, counted without Redis
    nowhere = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with api_client_for(nowhere) as client:
        accepted = await client.post(f"/hooks/{hook['token']}", json={"n": 1})
        assert accepted.status_code == 202, accepted.text
        execution_id = accepted.json()["executionId"]
        assert await db.fetchval("SELECT count(*) FROM workflow_executions WHERE id = $1", execution_id) == 1
        await temporal_client.get_workflow_handle(f"run-{execution_id}").describe()  # durably started
        assert (await client.post(f"/hooks/{hook['token']}", json={"n": 2})).status_code == 202
        over = await client.post(f"/hooks/{hook['token']}", json={"n": 3})
        assert over.status_code == 429, over.text  # the monthly quota still holds

        keyed = await client.post(f"/hooks/{hook['token']}", json={}, headers={"Idempotency-Key": "k-1"})
        login = await client.post(
            "/api/v1/auth/login", json={"email": "outage@example.com", "password": PASSWORD}
        )
        for answer in (keyed, login):
            assert answer.status_code == 503, answer.text
            body = answer.json()
            assert body["error"] == "unavailable"
            assert "Redis" in body["detail"]
            assert int(answer.headers["Retry-After"]) >= 1
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "redis" in ready.text.lower()
        # reads that never needed Redis go on
        assert (await client.get(f"{base}/workflows/{workflow_id}", headers=headers)).status_code == 200
    rows = await db.fetchval("SELECT count(*) FROM workflow_executions WHERE workflow_id = $1", workflow_id)
    assert rows == 2  # the two accepted calls, nothing for the refused ones


async def test_a_decision_no_worker_takes_answers_503_after_its_timeout(settings: Settings) -> None:
    """No worker serves the run's task queue: the decision waits DECISION_TIMEOUT_SECONDS, then 503."""
    quick = settings.model_copy(update={"decision_timeout_seconds": 1.0})
    approval = [{"id": "ask", "type": "approval", "message": "ok?", "timeoutSeconds": 3600}]
    async with api_client_for(quick) as client:
        base, headers, workflow_id, hook = await webhook_workflow(
            client, approval, email="noworker@example.com"
        )
        execution_id = (await client.post(f"/hooks/{hook['token']}", json={})).json()["executionId"]
        decided = await client.post(
            f"{base}/executions/{execution_id}/steps/ask/decision", headers=headers, json={"approved": True}
        )
    assert decided.status_code == 503, decided.text
    assert decided.json()["error"] == "unavailable"
    assert "no worker took the decision within 1 s" in decided.json()["detail"]


async def test_a_decision_resent_with_its_idempotency_key_answers_its_outcome_once_a_worker_comes(
    settings: Settings,
    task_queue: str,
    engine: AsyncEngine,
    redis: Redis,
    temporal_client: Client,
    db: asyncpg.Connection,
) -> None:
    """The worker is down when the run starts and when the decision is sent (503); the decision is resent
    with the same Idempotency-Key once a worker serves the queue: it is the same decision (Temporal keeps one
    outcome per update id), taken by the run's very first workflow task, and answers 200 every time;
    without the key, the step already decided answers 409."""
    quick = settings.model_copy(update={"decision_timeout_seconds": 1.0, "temporal_task_queue": task_queue})
    approval = [{"id": "ask", "type": "approval", "message": "ok?", "timeoutSeconds": 3600}]
    async with api_client_for(quick) as client:
        base, headers, _, hook = await webhook_workflow(client, approval, email="resend@example.com")
        execution_id = (await client.post(f"/hooks/{hook['token']}", json={})).json()["executionId"]
        url = f"{base}/executions/{execution_id}/steps/ask/decision"
        keyed = {**headers, "Idempotency-Key": "decision-1"}
        first = await client.post(url, headers=keyed, json={"approved": True, "comment": "go"})
        assert first.status_code == 503, first.text
        assert "same Idempotency-Key" in first.json()["detail"]
        async with running_engine(temporal_client, quick, engine, redis, task_queue, db):
            resent = await client.post(url, headers=keyed, json={"approved": True, "comment": "go"})
            assert resent.status_code == 200, resent.text
            assert resent.json()["approved"] is True
            await temporal_client.get_workflow_handle(f"run-{execution_id}").result()
            detail = (await client.get(f"{base}/executions/{execution_id}", headers=headers)).json()
            assert detail["status"] == "SUCCESS"
            (ask,) = detail["stepExecutions"]
            assert ask["output"]["comment"] == "go"
            again = await client.post(url, headers=keyed, json={"approved": True, "comment": "go"})
            assert again.status_code == 200, again.text
            unkeyed = await client.post(url, headers=headers, json={"approved": True})
            assert unkeyed.status_code == 409, unkeyed.text
        bad = await client.post(
            url, headers={**headers, "Idempotency-Key": "k" * 256}, json={"approved": True}
        )
        assert bad.status_code == 422
        assert "Idempotency-Key" in bad.text
