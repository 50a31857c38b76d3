"""Every mutating call leaves an audit entry: who, what, a before/after diff without secrets, from where."""

from __future__ import annotations

import json

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from tests.api.conftest import sign_up
from tests.api.test_workflows import setup, workflow

SECRET = "audit-secret-token-777"


async def test_mutations_are_audited_with_diffs_and_without_secrets(
    api_client: httpx.AsyncClient, engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    await seed(engine)
    base, headers = await setup(api_client)
    headers = {**headers, "User-Agent": "audit-test/1.0"}
    created = (await api_client.post(f"{base}/workflows", headers=headers, json=workflow())).json()
    await api_client.patch(f"{base}/workflows/{created['id']}", headers=headers, json={"name": "Renamed"})
    await api_client.post(f"{base}/workflows/{created['id']}/publish", headers=headers, json={})
    await api_client.post(
        f"{base}/connections",
        headers=headers,
        json={"integrationId": "http", "name": "api", "credentials": {"type": "bearer", "token": SECRET}},
    )

    entries = (await api_client.get(f"{base}/audit-logs", headers=headers)).json()["items"]
    actions = [e["action"] for e in entries]
    assert actions[:4] == ["connection.created", "workflow.published", "workflow.updated", "workflow.created"]
    assert "workspace.created" in actions
    updated = next(e for e in entries if e["action"] == "workflow.updated")
    assert updated["changes"] == {"before": {"name": "Greeter"}, "after": {"name": "Renamed"}}
    assert (updated["entityType"], updated["entityId"], updated["userAgent"]) == (
        "workflow",
        created["id"],
        "audit-test/1.0",
    )
    assert updated["ipAddress"]
    everything = json.dumps(entries) + "".join(
        str(r) for r in await db.fetch("SELECT changes::text, metadata::text FROM audit_logs")
    )
    assert SECRET not in everything

    only_workflows = (await api_client.get(f"{base}/audit-logs?entityType=workflow", headers=headers)).json()
    assert {e["entityType"] for e in only_workflows["items"]} == {"workflow"}


async def test_only_admins_and_owners_read_the_audit_log(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client)
    member = await sign_up(api_client, "m@example.com")
    await api_client.post(
        f"{base}/members", headers=headers, json={"email": "m@example.com", "role": "MEMBER"}
    )
    assert (await api_client.get(f"{base}/audit-logs", headers=member)).status_code == 403
    assert (await api_client.get(f"{base}/audit-logs", headers=headers)).status_code == 200
