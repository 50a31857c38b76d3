"""A sync webhook whose run fails answers its caller 502 with the execution id, never the run's error: it
names the URLs the steps called (Baton's own servers, the author's internal services) and what they said."""

from __future__ import annotations

import httpx

from tests.api.test_webhooks import webhook_workflow
from tests.http_server import Reply, ScriptedServer


async def test_a_failed_sync_run_answers_its_caller_without_the_urls_and_answers_its_steps_called(
    api_with_worker: httpx.AsyncClient, http_server: ScriptedServer
) -> None:
    url = http_server.script("/internal/orders", Reply(500, {"error": "database connection pool exhausted"}))
    steps = [
        {
            "id": "save",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": url, "json": {"n": 1}},
            "retry": {"maxAttempts": 1},
        }
    ]
    base, headers, _, hook = await webhook_workflow(
        api_with_worker, steps, {"methods": ["POST"], "mode": "sync"}, "failed-sync@example.com"
    )

    answer = await api_with_worker.post(f"/hooks/{hook['token']}", json={"n": 1})

    assert answer.status_code == 502
    execution_id = answer.headers["X-Baton-Execution-Id"]
    assert answer.json() == {
        "error": "run_failed",
        "detail": f"the run failed (execution {execution_id})",
        "path": None,
        "executionId": execution_id,
    }
    # the workflow's editors still read why
    run = await api_with_worker.get(f"{base}/executions/{execution_id}", headers=headers)
    assert "pool exhausted" in run.json()["error"]
    assert "/internal/orders" in run.json()["error"]
