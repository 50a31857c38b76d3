"""Workflows and executions over REST, end to end with a real worker."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from tests.api.conftest import sign_up
from tests.http_server import Reply, ScriptedServer

GREET = [{"id": "greet", "type": "set", "values": {"hello": "{{ trigger.name }}"}}]


async def setup(client: httpx.AsyncClient, email: str = "wf@example.com") -> tuple[str, dict[str, str]]:
    headers = await sign_up(client, email)
    workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "WF"})).json()
    return f"/api/v1/workspaces/{workspace['id']}", headers


def workflow(steps: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": "Greeter", "triggerType": "MANUAL", "triggerConfig": {}, "steps": steps or GREET, **extra}


async def test_an_invalid_definition_is_refused_with_its_json_path(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    response = await api_client.post(
        f"{base}/workflows",
        headers=headers,
        json=workflow(
            [
                {
                    "id": "mail",
                    "type": "action",
                    "action": "gmail.send_email",
                    "input": {"to": "a@b.c", "subject": 1},
                }
            ]
        ),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_definition"
    assert body["path"] in {"steps[0].input.subject", "steps[0].input.body"}


async def test_create_update_publish_versions_and_restore(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    created = (
        await api_client.post(
            f"{base}/workflows", headers=headers, json=workflow(tags=["crm"], folder="sales")
        )
    ).json()
    assert (created["isDraft"], created["isActive"], created["version"]) == (True, False, 1)
    url = f"{base}/workflows/{created['id']}"
    assert (await api_client.post(f"{url}/activate", headers=headers)).status_code == 409  # not published yet

    v1 = (
        await api_client.post(f"{url}/publish", headers=headers, json={"changeDescription": "first"})
    ).json()
    assert (v1["version"], v1["changeDescription"]) == (1, "first")
    current = (await api_client.get(url, headers=headers)).json()
    assert (current["isDraft"], current["isActive"]) == (False, True)
    assert current["publishedAt"] is not None

    changed = (
        await api_client.patch(
            url,
            headers=headers,
            json={"steps": [{"id": "greet", "type": "set", "values": {"hello": "v2 {{ trigger.name }}"}}]},
        )
    ).json()
    assert changed["isDraft"] is True
    v2 = (await api_client.post(f"{url}/publish", headers=headers, json={})).json()
    assert v2["version"] == 2
    restored = (await api_client.post(f"{url}/versions/1/restore", headers=headers)).json()
    assert (restored["version"], restored["changeDescription"]) == (3, "Restored version 1")
    assert restored["steps"] == GREET
    listed = (await api_client.get(f"{url}/versions", headers=headers)).json()["items"]
    assert [v["version"] for v in listed] == [3, 2, 1]
    assert (await api_client.get(f"{url}/versions/9", headers=headers)).status_code == 404

    deactivated = (await api_client.post(f"{url}/deactivate", headers=headers)).json()
    assert deactivated["isActive"] is False
    by_tag = (await api_client.get(f"{base}/workflows?tag=crm", headers=headers)).json()["items"]
    assert [w["id"] for w in by_tag] == [created["id"]]
    assert (await api_client.get(f"{base}/workflows?folder=other", headers=headers)).json()["items"] == []
    assert (await api_client.delete(url, headers=headers)).status_code == 204
    assert (await api_client.get(url, headers=headers)).status_code == 404


async def test_listing_pages_with_a_cursor(api_client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    base, headers = await setup(api_client)
    await db.execute("UPDATE workspaces SET max_workflows = 100")
    ids = [
        (await api_client.post(f"{base}/workflows", headers=headers, json=workflow())).json()["id"]
        for _ in range(5)
    ]
    first = (await api_client.get(f"{base}/workflows?limit=2", headers=headers)).json()
    second = (
        await api_client.get(f"{base}/workflows?limit=2&cursor={first['nextCursor']}", headers=headers)
    ).json()
    third = (
        await api_client.get(f"{base}/workflows?limit=2&cursor={second['nextCursor']}", headers=headers)
    ).json()
    seen = [w["id"] for w in first["items"] + second["items"] + third["items"]]
    assert sorted(seen) == sorted(ids)
    assert third["nextCursor"] is None
    bad = await api_client.get(f"{base}/workflows?cursor=%%%", headers=headers)
    assert (bad.status_code, bad.json()["path"]) == (400, "cursor")


async def test_the_plans_workflow_limit_is_enforced(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    for _ in range(5):
        assert (
            await api_client.post(f"{base}/workflows", headers=headers, json=workflow())
        ).status_code == 201
    sixth = await api_client.post(f"{base}/workflows", headers=headers, json=workflow())
    assert sixth.status_code == 403
    assert sixth.json()["error"] == "limit_exceeded"
    assert "maxWorkflows" in sixth.json()["detail"]


async def test_a_manual_run_waits_for_its_result_and_is_listed_with_its_steps(
    api_with_worker: httpx.AsyncClient,
) -> None:
    client = api_with_worker
    base, headers = await setup(client)
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=workflow())).json()["id"]
    not_yet = await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
    assert not_yet.status_code == 404
    assert "publish it first" in not_yet.json()["detail"]
    draft = await client.post(
        f"{base}/workflows/{workflow_id}/run?wait=true&draft=true",
        headers=headers,
        json={"payload": {"name": "draft"}},
    )
    assert draft.json()["result"] == {"hello": "draft"}
    assert draft.json()["context"]["test"] is True  # a draft run is marked as a test

    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    done = await client.post(
        f"{base}/workflows/{workflow_id}/run?wait=true", headers=headers, json={"payload": {"name": "Ada"}}
    )
    assert done.status_code == 200
    execution = done.json()
    assert (execution["status"], execution["result"]) == ("SUCCESS", {"hello": "Ada"})
    assert "test" not in execution["context"]
    assert execution["temporalUiUrl"].endswith(f"/workflows/run-{execution['id']}")
    detail = (await client.get(f"{base}/executions/{execution['id']}", headers=headers)).json()
    assert [s["stepId"] for s in detail["stepExecutions"]] == ["greet"]

    started = await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
    assert started.status_code == 202
    listed = (
        await client.get(f"{base}/executions?workflowId={workflow_id}&status=SUCCESS", headers=headers)
    ).json()
    assert execution["id"] in [e["id"] for e in listed["items"]]


async def test_the_monthly_execution_quota_is_enforced_and_survives_losing_redis(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection, redis: Redis, redis_prefix: str
) -> None:
    client = api_with_worker
    base, headers = await setup(client)
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=workflow())).json()["id"]
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    await db.execute("UPDATE workspaces SET max_executions = 2")
    for _ in range(2):
        ok = await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
        assert ok.status_code == 202
    refused = await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
    assert (refused.status_code, refused.json()["error"]) == (403, "limit_exceeded")
    assert "maxExecutions" in refused.json()["detail"]
    await redis.delete(*[k async for k in redis.scan_iter(match=f"{redis_prefix}quota:*")])  # Redis lost it
    again = await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
    assert again.status_code == 403  # rebuilt from PostgreSQL, not reset


async def test_approvals_cancel_retry_and_resume_over_rest(
    api_with_worker: httpx.AsyncClient, http_server: ScriptedServer
) -> None:
    client = api_with_worker
    base, headers = await setup(client)
    http_server.script("/flaky", Reply(400, "no"), Reply(200, {"ok": True}))
    steps = [
        {"id": "review", "type": "approval", "message": "ok?", "timeoutSeconds": 600},
        {
            "id": "call",
            "type": "action",
            "action": "http.request",
            "input": {"url": http_server.base_url + "/flaky"},
        },
    ]
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=workflow(steps))).json()["id"]
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    execution_id = (
        await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
    ).json()["id"]
    decision_url = f"{base}/executions/{execution_id}/steps/review/decision"
    for _ in range(100):
        answer = await client.post(decision_url, headers=headers, json={"approved": True, "comment": "go"})
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert answer.json()["approved"] is True
    wrong = await client.post(
        f"{base}/executions/{execution_id}/steps/call/decision", headers=headers, json={"approved": True}
    )
    assert wrong.status_code == 409
    for _ in range(100):
        detail = (await client.get(f"{base}/executions/{execution_id}", headers=headers)).json()
        if detail["status"] == "FAILED":
            break
        await asyncio.sleep(0.05)
    assert detail["status"] == "FAILED"
    review = next(s for s in detail["stepExecutions"] if s["stepId"] == "review")
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert review["output"] == {"approved": True, "by": me["id"], "comment": "go", "message": "ok?"}

    resumed = (await client.post(f"{base}/executions/{execution_id}/resume", headers=headers, json={})).json()
    for _ in range(100):
        resumed = (await client.get(f"{base}/executions/{resumed['id']}", headers=headers)).json()
        if resumed["status"] == "SUCCESS":
            break
        await asyncio.sleep(0.05)
    assert resumed["status"] == "SUCCESS"  # the approval was reused, not asked again
    retried = await client.post(f"{base}/executions/{execution_id}/retry", headers=headers)
    assert retried.status_code == 202
    assert retried.json()["retryCount"] == 1
    cancelled = await client.post(f"{base}/executions/{retried.json()['id']}/cancel", headers=headers)
    assert cancelled.status_code == 202


async def test_viewers_read_but_do_not_write_and_strangers_see_nothing(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    viewer = await sign_up(api_client, "viewer@example.com")
    await api_client.post(
        f"{base}/members", headers=headers, json={"email": "viewer@example.com", "role": "VIEWER"}
    )
    stranger = await sign_up(api_client, "stranger@example.com")
    created = (await api_client.post(f"{base}/workflows", headers=headers, json=workflow())).json()
    url = f"{base}/workflows/{created['id']}"
    assert (await api_client.get(url, headers=viewer)).status_code == 200
    assert (await api_client.patch(url, headers=viewer, json={"name": "x"})).status_code == 403
    assert (await api_client.post(f"{url}/run", headers=viewer, json={"payload": {}})).status_code == 403
    assert (await api_client.get(url, headers=stranger)).status_code == 404
    assert (await api_client.get(f"{base}/executions", headers=stranger)).status_code == 404


async def test_the_published_definition_is_cached_and_every_write_drops_it(
    api_with_worker: httpx.AsyncClient, redis: Redis, redis_prefix: str
) -> None:
    client = api_with_worker
    base, headers = await setup(client)
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=workflow())).json()["id"]
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    run_url = f"{base}/workflows/{workflow_id}/run?wait=true"
    first = (await client.post(run_url, headers=headers, json={"payload": {"name": "a"}})).json()
    assert first["result"] == {"hello": "a"}
    key = f"{redis_prefix}workflow:{workflow_id}"
    assert 0 < await redis.ttl(key) <= 300

    await client.patch(
        f"{base}/workflows/{workflow_id}",
        headers=headers,
        json={"steps": [{"id": "greet", "type": "set", "values": {"hello": "v2 {{ trigger.name }}"}}]},
    )
    assert await redis.exists(key) == 0  # dropped after the write committed
    await client.post(f"{base}/workflows/{workflow_id}/run?wait=true", headers=headers, json={"payload": {}})
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    second = (await client.post(run_url, headers=headers, json={"payload": {"name": "b"}})).json()
    assert second["result"] == {"hello": "v2 b"}  # the new version, not a stale cached one


async def test_a_null_for_a_field_a_workflow_must_have_is_a_422_naming_it(
    api_client: httpx.AsyncClient,
) -> None:
    headers = await sign_up(api_client, "nulls@example.com")
    workspace = (await api_client.post("/api/v1/workspaces", headers=headers, json={"name": "N"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}/workflows"
    created = await api_client.post(
        base, headers=headers, json={"name": "w", "triggerType": "MANUAL", "steps": []}
    )
    for field in ("name", "triggerType", "steps"):
        answer = await api_client.patch(f"{base}/{created.json()['id']}", headers=headers, json={field: None})
        assert answer.status_code == 422, answer.text
        assert answer.json()["path"] == field
