"""Webhooks end to end: the API arms them on publish, `/hooks/{token}` starts runs on a real worker."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from tests.api.conftest import published_workflow

GREET = [{"id": "greet", "type": "set", "values": {"hello": "{{ trigger.body.name }}"}}]
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED", "TIMEOUT"}


async def webhook_workflow(
    client: httpx.AsyncClient,
    steps: list[Any] | None = None,
    config: dict[str, Any] | None = None,
    email: str = "hooks@example.com",
) -> tuple[str, dict[str, str], str, dict[str, Any]]:
    """A published WEBHOOK workflow: (workspace base URL, headers, workflow id, its webhook)."""
    body = {
        "name": "Hooked",
        "triggerType": "WEBHOOK",
        "triggerConfig": config or {"methods": ["POST"], "mode": "async"},
        "steps": steps or GREET,
    }
    base, headers, workflow_id = await published_workflow(client, email, "Hooks", body)
    hooks = (await client.get(f"{base}/webhooks", headers=headers)).json()["items"]
    assert len(hooks) == 1
    return base, headers, workflow_id, hooks[0]


@dataclass
class Hooked:
    """A published WEBHOOK workflow as its owner sees it over the API (`base`, `headers`), its webhook, and
    the URL its senders call."""

    client: httpx.AsyncClient
    base: str
    headers: dict[str, str]
    workflow_id: str
    hook: dict[str, Any]

    @classmethod
    async def publish(
        cls, client: httpx.AsyncClient, steps: list[Any] | None = None, config: dict[str, Any] | None = None
    ) -> Hooked:
        return cls(client, *await webhook_workflow(client, steps, config))

    @property
    def url(self) -> str:
        return f"/hooks/{self.hook['token']}"

    async def put_secret(self, body: dict[str, Any]) -> httpx.Response:
        """PUT .../webhooks/{id}/secret: the inbound auth senders must pass."""
        return await self.client.put(
            f"{self.base}/webhooks/{self.hook['id']}/secret", headers=self.headers, json=body
        )

    async def listed(self) -> dict[str, Any]:
        """The webhook as GET .../webhooks lists it."""
        answer = await self.client.get(f"{self.base}/webhooks", headers=self.headers)
        return dict(answer.json()["items"][0])


async def finished(db: asyncpg.Connection, execution_id: str, timeout: float = 20) -> asyncpg.Record:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await db.fetchrow("SELECT * FROM workflow_executions WHERE id = $1", execution_id)
        if row is not None and row["status"] in TERMINAL:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"execution {execution_id} did not finish in {timeout}s")


async def executions(db: asyncpg.Connection, workflow_id: str) -> int:
    return int(
        await db.fetchval("SELECT count(*) FROM workflow_executions WHERE workflow_id = $1", workflow_id)
    )


async def test_a_call_starts_one_run_with_the_request_as_its_trigger(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    _, _, workflow_id, hook = await webhook_workflow(client)
    assert hook["url"].endswith(f"/hooks/{hook['token']}")
    assert len(hook["token"]) >= 32
    assert hook["isActive"]
    assert not hook["hasSecret"]
    response = await client.post(
        f"/hooks/{hook['token']}?source=crm",
        json={"name": "Ada"},
        headers={"Authorization": "Bearer sender-secret", "X-Source": "crm"},
    )
    assert response.status_code == 202, response.text
    execution_id = response.json()["executionId"]
    assert response.headers["X-Baton-Execution-Id"] == execution_id
    # 202 only once the run is durably started: its row exists already
    assert await db.fetchval("SELECT count(*) FROM workflow_executions WHERE id = $1", execution_id) == 1
    row = await finished(db, execution_id)
    assert row["status"] == "SUCCESS"
    trigger = json.loads(row["trigger_data"])
    assert trigger["body"] == {"name": "Ada"}
    assert (trigger["method"], trigger["query"]) == ("POST", {"source": "crm"})
    assert trigger["headers"]["x-source"] == "crm"
    assert "authorization" not in trigger["headers"]  # the sender's credentials are not kept
    assert json.loads(row["result"]) == {"hello": "Ada"}
    # the same ingress answers under the API prefix too
    again = await client.post(f"/api/v1/hooks/{hook['token']}", json={"name": "Bob"})
    assert again.status_code == 202


async def test_an_idempotency_key_starts_one_run_and_answers_its_id_again(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    _, _, workflow_id, hook = await webhook_workflow(client)
    url = f"/hooks/{hook['token']}"
    calls = await asyncio.gather(
        *(client.post(url, json={"name": "Ada"}, headers={"Idempotency-Key": "order-42"}) for _ in range(5))
    )
    ids = {call.json()["executionId"] for call in calls}
    assert len(ids) == 1
    assert [call.headers.get("Idempotent-Replayed") for call in calls].count("true") == 4
    other = await client.post(url, json={"name": "Ada"}, headers={"Idempotency-Key": "order-43"})
    assert other.json()["executionId"] not in ids
    await finished(db, other.json()["executionId"])
    assert await executions(db, workflow_id) == 2
    too_long = await client.post(url, json={}, headers={"Idempotency-Key": "k" * 300})
    assert (too_long.status_code, too_long.json()["path"]) == (400, "Idempotency-Key")


async def test_sync_mode_answers_with_the_respond_step_before_the_run_ends(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    steps = [
        {
            "id": "reply",
            "type": "respond",
            "status": 201,
            "headers": {"X-Greeting": "yes"},
            "body": {"greeting": "Hello {{ trigger.body.name }}"},
        },
        {"id": "later", "type": "delay", "seconds": 2},
    ]
    _, _, _, hook = await webhook_workflow(
        client, steps, {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 10}
    )
    started = time.monotonic()
    response = await client.post(f"/hooks/{hook['token']}", json={"name": "Ada"})
    assert time.monotonic() - started < 2  # before the 2 s delay that follows the reply
    assert response.status_code == 201
    assert response.json() == {"greeting": "Hello Ada"}
    assert response.headers["X-Greeting"] == "yes"
    row = await finished(db, response.headers["X-Baton-Execution-Id"])
    assert row["status"] == "SUCCESS"


async def test_the_catalogues_webhook_respond_action_answers_a_sync_webhook(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    steps = [
        {
            "id": "reply",
            "type": "action",
            "action": "webhook.respond",
            "input": {"status": 202, "headers": {"X-Queued": "1"}, "body": {"id": "{{ trigger.body.id }}"}},
        },
        {"id": "after", "type": "set", "values": {"sent": "{{ steps.reply.output.status }}"}},
    ]
    _, _, _, hook = await webhook_workflow(
        client, steps, {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 10}, "respond@example.com"
    )
    response = await client.post(f"/hooks/{hook['token']}", json={"id": 42})
    assert (response.status_code, response.json(), response.headers["X-Queued"]) == (202, {"id": 42}, "1")
    row = await finished(db, response.headers["X-Baton-Execution-Id"])
    assert (row["status"], json.loads(row["result"])) == ("SUCCESS", {"id": 42})  # a reply is the result


async def test_sync_mode_without_a_respond_step_answers_the_result_or_the_failure(
    api_with_worker: httpx.AsyncClient,
) -> None:
    client = api_with_worker
    base, headers, _, hook = await webhook_workflow(
        client, config={"methods": ["POST", "GET"], "mode": "sync"}
    )
    result = await client.get(f"/hooks/{hook['token']}?x=1")
    assert (result.status_code, result.json()) == (200, {"hello": None})

    failing = [{"id": "fail", "type": "stop", "status": "FAILED", "message": "no {{ trigger.body.name }}"}]
    _, _, _, hook2 = await webhook_workflow(
        client, failing, {"methods": ["POST"], "mode": "sync"}, email="hooks2@example.com"
    )
    failed = await client.post(f"/hooks/{hook2['token']}", json={"name": "Ada"})
    assert failed.status_code == 502
    assert failed.json()["error"] == "run_failed"
    assert failed.json()["executionId"] == failed.headers["X-Baton-Execution-Id"]
    assert "no Ada" not in failed.text  # the run's error is for its editors (test_failed_sync_webhook)


async def test_sync_mode_past_its_timeout_answers_202_and_the_run_carries_on(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    steps = [
        {"id": "slow", "type": "delay", "seconds": 3},
        {"id": "reply", "type": "respond", "status": 200, "body": "late"},
    ]
    _, _, _, hook = await webhook_workflow(
        client, steps, {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 1}
    )
    started = time.monotonic()
    response = await client.post(f"/hooks/{hook['token']}", json={})
    assert time.monotonic() - started < 2.5
    assert response.status_code == 202
    assert response.json()["status"] == "RUNNING"
    row = await finished(db, response.json()["executionId"])
    assert row["status"] == "SUCCESS"


async def test_bodies_over_the_limit_are_refused_before_any_run(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    _, _, workflow_id, hook = await webhook_workflow(client)
    big = b"x" * (1024 * 1024 + 1)
    response = await client.post(
        f"/hooks/{hook['token']}", content=big, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 413
    bad_json = await client.post(
        f"/hooks/{hook['token']}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (bad_json.status_code, bad_json.json()["path"]) == (400, "body")
    assert await executions(db, workflow_id) == 0


async def test_unknown_inactive_and_wrong_method_calls_start_nothing(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    base, headers, workflow_id, hook = await webhook_workflow(client)
    url = f"/hooks/{hook['token']}"
    assert (await client.post("/hooks/not-a-token", json={})).status_code == 404
    wrong = await client.put(url, json={})
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    assert (
        await client.post(f"{base}/workflows/{workflow_id}/deactivate", headers=headers)
    ).status_code == 200
    assert (await client.post(url, json={})).status_code == 404
    assert (await client.post(f"{base}/workflows/{workflow_id}/activate", headers=headers)).status_code == 200
    assert (await client.post(url, json={})).status_code == 202  # the same URL works again
    # publishing a version with another trigger disarms the webhook
    await client.patch(
        f"{base}/workflows/{workflow_id}",
        headers=headers,
        json={"triggerType": "MANUAL", "triggerConfig": {}},
    )
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    assert (await client.post(url, json={})).status_code == 404
    assert (await client.delete(f"{base}/workflows/{workflow_id}", headers=headers)).status_code == 204
    assert (await client.post(url, json={})).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM webhooks") == 0


async def test_over_the_monthly_quota_a_webhook_answers_429(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    _, _, workflow_id, hook = await webhook_workflow(client)
    await db.execute("UPDATE workspaces SET max_executions = 1")
    assert (await client.post(f"/hooks/{hook['token']}", json={})).status_code == 202
    over = await client.post(f"/hooks/{hook['token']}", json={}, headers={"Idempotency-Key": "k1"})
    assert over.status_code == 429
    assert over.json()["error"] == "limit_exceeded"
    assert int(over.headers["Retry-After"]) > 0
    assert await executions(db, workflow_id) == 1


async def test_call_stats_are_counted_in_redis_and_flushed_in_one_batch(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    base, headers, _, hook = await webhook_workflow(client)
    for _ in range(3):
        assert (await client.post(f"/hooks/{hook['token']}", json={})).status_code == 202
    stored = await db.fetchrow("SELECT total_calls, last_called_at FROM webhooks WHERE id = $1", hook["id"])
    assert (stored["total_calls"], stored["last_called_at"]) == (0, None)  # no row update per call
    listed = (await client.get(f"{base}/webhooks", headers=headers)).json()["items"][0]
    assert listed["totalCalls"] == 3
    assert listed["lastCalledAt"] is not None
    assert await db.fetchval("SELECT total_calls FROM webhooks WHERE id = $1", hook["id"]) == 3


async def test_a_respond_step_answers_sandboxed_and_without_cookies_or_cors(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A sync webhook's answer comes from the API's origin: whatever a workflow answers is sandboxed, never
    sniffed, and cannot set a cookie or open CORS (refused on save, dropped at run time when computed)."""
    client = api_with_worker
    base, headers, _, _ = await webhook_workflow(client, email="respond-headers@example.com")
    for name, step, path in (
        ("Set-Cookie", {"type": "respond", "headers": {"Set-Cookie": "a=b"}}, "steps[0].headers.Set-Cookie"),
        (
            "access-control-allow-origin",
            {
                "type": "action",
                "action": "webhook.respond",
                "input": {"headers": {"access-control-allow-origin": "*"}},
            },
            "steps[0].input.headers.access-control-allow-origin",
        ),
    ):
        refused = await client.post(
            f"{base}/workflows",
            headers=headers,
            json={"name": "cookie", "triggerType": "MANUAL", "steps": [{"id": "r", **step}]},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["path"] == path, name
    page = "<html><script>fetch('/api/v1/me')</script></html>"
    steps = [
        {
            "id": "reply",
            "type": "action",
            "action": "webhook.respond",
            "input": {
                "status": 200,
                "headers": {
                    "Content-Type": "text/html",
                    "X-Cookie": "session=stolen; Path=/",
                    "X-Allow-Origin": "https://evil.example",
                    "X-Allow-Credentials": "true",
                    "X-Content-Type-Options": "sniff",
                    "Content-Security-Policy": "default-src *",
                    "X-Order": "7",
                },
                "body": page,
            },
        }
    ]
    _, _, _, hook = await webhook_workflow(
        client,
        steps,
        {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 10},
        "respond-html@example.com",
    )
    # a definition saved before the rule: only the answer can drop what it must not carry
    for table in ("workflows", "workflow_versions"):
        await db.execute(
            f"UPDATE {table} SET steps = replace(replace(replace(steps::text, 'X-Cookie', 'Set-Cookie'), "  # noqa: S608
            "'X-Allow-Origin', 'Access-Control-Allow-Origin'), 'X-Allow-Credentials', "
            "'Access-Control-Allow-Credentials')::jsonb"
        )
    response = await client.post(f"/hooks/{hook['token']}", json={})
    assert response.status_code == 200, response.text
    assert response.text == page
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-order"] == "7"  # the workflow's own headers go through
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert "x-cookie" not in response.headers  # the run did answer the rewritten definition
    assert "set-cookie" not in response.headers
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    await finished(db, response.headers["X-Baton-Execution-Id"])
