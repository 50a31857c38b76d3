"""Templates, export/import with connection mapping, duplicate, and live events over SSE."""

from __future__ import annotations

import json

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from integrations.templates import TEMPLATES
from tests.api.conftest import sign_up
from tests.api.test_workflows import setup, workflow


async def test_using_a_template_creates_a_draft_and_counts_the_use(
    api_client: httpx.AsyncClient, engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    await seed(engine)
    base, headers = await setup(api_client)
    template = next(t for t in TEMPLATES if t.slug == "uptime-check")
    created = await api_client.post(f"{base}/templates/{template.id}/use", headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["triggerType"], body["isDraft"]) == (template.name, "SCHEDULE", True)
    assert await db.fetchval("SELECT usage_count FROM workflow_templates WHERE id = $1", template.id) == 1


async def test_export_then_import_maps_connections_and_refuses_unmapped_ones(
    api_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await seed(engine)
    base, headers = await setup(api_client)
    connection = (
        await api_client.post(
            f"{base}/connections",
            headers=headers,
            json={"integrationId": "http", "name": "api", "credentials": {"type": "bearer", "token": "t"}},
        )
    ).json()
    steps = [
        {
            "id": "call",
            "type": "action",
            "action": "http.request",
            "connectionId": connection["id"],
            "input": {"url": "https://example.com"},
        }
    ]
    created = (await api_client.post(f"{base}/workflows", headers=headers, json=workflow(steps))).json()
    exported = (await api_client.get(f"{base}/workflows/{created['id']}/export", headers=headers)).json()
    assert exported["steps"][0]["connectionId"] == connection["id"]

    other_base, other_headers = await setup(api_client, "other@example.com")
    unmapped = await api_client.post(
        f"{other_base}/workflows/import", headers=other_headers, json={"workflow": exported}
    )
    assert unmapped.status_code == 404
    assert unmapped.json()["path"] == "steps[0].connectionId"
    theirs = (
        await api_client.post(
            f"{other_base}/connections",
            headers=other_headers,
            json={"integrationId": "http", "name": "api", "credentials": {"type": "bearer", "token": "u"}},
        )
    ).json()
    imported = await api_client.post(
        f"{other_base}/workflows/import",
        headers=other_headers,
        json={"workflow": exported, "connectionMap": {connection["id"]: theirs["id"]}},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["steps"][0]["connectionId"] == theirs["id"]


async def test_duplicate_makes_a_draft_copy(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    created = (await api_client.post(f"{base}/workflows", headers=headers, json=workflow(tags=["a"]))).json()
    copy = (await api_client.post(f"{base}/workflows/{created['id']}/duplicate", headers=headers)).json()
    assert (copy["name"], copy["tags"], copy["isDraft"]) == ("Copy of Greeter", ["a"], True)
    assert copy["id"] != created["id"]


async def test_live_events_stream_a_run_until_it_ends(api_with_worker: httpx.AsyncClient) -> None:
    client = api_with_worker
    base, headers = await setup(client)
    steps = [
        {"id": "nap", "type": "delay", "seconds": 1},
        {"id": "done", "type": "set", "values": {"ok": True}},
    ]
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=workflow(steps))).json()["id"]
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    execution_id = (
        await client.post(f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}})
    ).json()["id"]
    events = []
    async with client.stream("GET", f"{base}/executions/{execution_id}/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[0]["type"] == "execution"
    assert {k: events[-1][k] for k in ("type", "status", "error")} == {
        "type": "execution",
        "status": "SUCCESS",
        "error": None,
    }
    assert {"nap", "done"} <= {e.get("stepId") for e in events if e["type"] == "step"}
    # A finished run's stream says how it ended, then closes.
    async with client.stream("GET", f"{base}/executions/{execution_id}/events", headers=headers) as response:
        lines = [line async for line in response.aiter_lines() if line.startswith("data: ")]
    assert json.loads(lines[0][6:])["status"] == "SUCCESS"
    assert len(lines) == 1


async def test_strangers_cannot_use_templates_in_a_workspace(
    api_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await seed(engine)
    base, _ = await setup(api_client)
    stranger = await sign_up(api_client, "stranger2@example.com")
    response = await api_client.post(f"{base}/templates/{TEMPLATES[0].id}/use", headers=stranger)
    assert response.status_code == 404
