"""`baton reconcile` repairs drift between PostgreSQL and Temporal left by a crash between the two writes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from core.contract import poller_id, schedule_id
from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up

STEPS = [{"id": "noop", "type": "set", "values": {"ok": True}}]


async def published(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], trigger: str, config: dict[str, Any]
) -> str:
    body = {"name": trigger, "triggerType": trigger, "triggerConfig": config, "steps": STEPS}
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=body)).json()["id"]
    assert (
        await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    ).status_code == 201
    return str(workflow_id)


def reconcile(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
    }
    return subprocess.run(
        [sys.executable, "-m", "baton", "reconcile"], env=env, capture_output=True, text=True, timeout=120
    )


async def test_reconcile_rearms_what_temporal_lost_and_disarms_what_postgres_turned_off(
    settings: Settings, task_queue: str, temporal_client: Client, db: asyncpg.Connection
) -> None:
    # no worker: only the arming is under test, and the schedule's ticks just wait on the task queue
    settings = settings.model_copy(update={"temporal_task_queue": task_queue})
    async with api_client_for(settings) as client:
        headers = await sign_up(client, "drift@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "D"})).json()
        base = f"/api/v1/workspaces/{workspace['id']}"
        await db.execute("UPDATE workspaces SET max_workflows = 10")
        scheduled = await published(client, base, headers, "SCHEDULE", {"cron": "0 3 * * *"})
        polling = await published(
            client,
            base,
            headers,
            "POLLING",
            {"trigger": "rss.new_item", "config": {"url": "http://127.0.0.1:9/f"}},
        )
        hooked = await published(client, base, headers, "WEBHOOK", {})
        stale = await published(client, base, headers, "SCHEDULE", {"intervalSeconds": 3600})

    # the crash: Temporal lost the first schedule and the poller; PostgreSQL turned the last workflow and the
    # webhook off without reaching Temporal or the webhook row
    await temporal_client.get_schedule_handle(schedule_id(scheduled)).delete()
    await temporal_client.get_workflow_handle(poller_id(polling)).terminate(reason="simulated crash")
    await db.execute("UPDATE workflows SET is_active = false WHERE id = ANY($1::text[])", [stale, hooked])

    result = await asyncio.to_thread(reconcile, settings)
    assert result.returncode == 0, result.stderr
    assert f"workflow {scheduled}: SCHEDULE trigger armed" in result.stdout
    assert f"workflow {polling}: POLLING trigger armed" in result.stdout
    assert f"workflow {stale}: inactive; trigger disarmed (schedule paused)" in result.stdout

    assert not (
        await temporal_client.get_schedule_handle(schedule_id(scheduled)).describe()
    ).schedule.state.paused
    poller = await temporal_client.get_workflow_handle(poller_id(polling)).describe()
    assert poller.status == WorkflowExecutionStatus.RUNNING
    assert (await temporal_client.get_schedule_handle(schedule_id(stale)).describe()).schedule.state.paused
    assert await db.fetchval("SELECT is_active FROM webhooks WHERE workflow_id = $1", hooked) is False

    # a second run changes nothing and says so
    again = await asyncio.to_thread(reconcile, settings)
    assert again.returncode == 0
    assert "Reconciled" in again.stdout

    # a workflow deleted behind Temporal's back: its schedule and poller go on the next reconcile
    await db.execute("DELETE FROM workflows WHERE id = ANY($1::text[])", [scheduled, polling])
    await asyncio.to_thread(reconcile, settings)
    with pytest.raises(RPCError) as gone:
        await temporal_client.get_schedule_handle(schedule_id(scheduled)).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    poller = await temporal_client.get_workflow_handle(poller_id(polling)).describe()
    assert poller.status == WorkflowExecutionStatus.TERMINATED
    await temporal_client.get_schedule_handle(schedule_id(stale)).delete()
