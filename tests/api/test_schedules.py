"""SCHEDULE workflows end to end: a Temporal Schedule per active workflow, paused, updated and removed with
it; runs fire on time with the scheduled time as trigger data; the overlap policy and the seed's lock."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from temporalio.client import Client, ScheduleOverlapPolicy, ScheduleRange
from temporalio.service import RPCError, RPCStatusCode

from baton.client import AsyncClient
from core.contract import schedule_id
from core.redis_keys import RedisKeys
from tests.api.conftest import published_workflow, sign_up

QUICK = [{"id": "tick", "type": "set", "values": {"at": "{{ trigger.scheduledAt }}"}}]


async def schedule_workflow(
    client: httpx.AsyncClient, config: dict[str, Any], steps: list[Any] | None = None
) -> tuple[str, dict[str, str], str]:
    body = {
        "name": "Every few seconds",
        "triggerType": "SCHEDULE",
        "triggerConfig": config,
        "steps": steps or QUICK,
    }
    return await published_workflow(client, "clock@example.com", "Clock", body)


async def runs_of(db: asyncpg.Connection, workflow_id: str) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "SELECT * FROM workflow_executions WHERE workflow_id = $1 ORDER BY created_at", workflow_id
        )
    )


async def wait_for_runs(
    db: asyncpg.Connection, workflow_id: str, count: int, timeout: float = 15
) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await runs_of(db, workflow_id)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"{count} runs expected within {timeout}s, saw {len(await runs_of(db, workflow_id))}"
    )


async def test_a_schedule_fires_on_time_pauses_with_the_workflow_and_goes_with_it(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection, temporal_client: Client
) -> None:
    client = api_with_worker
    base, headers, workflow_id = await schedule_workflow(
        client, {"intervalSeconds": 2, "timezone": "Europe/Paris"}
    )
    handle = temporal_client.get_schedule_handle(schedule_id(workflow_id))
    described = await handle.describe()
    assert described.schedule.spec.intervals[0].every == timedelta(seconds=2)
    assert described.schedule.spec.time_zone_name == "Europe/Paris"
    assert not described.schedule.state.paused

    rows = await wait_for_runs(db, workflow_id, 2)
    for row in rows[:2]:
        trigger = json.loads(row["trigger_data"])
        scheduled = datetime.fromisoformat(trigger["scheduledAt"])
        assert scheduled.second % 2 == 0  # on the interval's grid
        assert abs((row["created_at"] - scheduled).total_seconds()) < 2  # started on time
        assert json.loads(row["context"])["triggerType"] == "SCHEDULE"
    done = await wait_for_runs(db, workflow_id, 2)
    assert all(r["status"] in {"SUCCESS", "RUNNING", "PENDING"} for r in done)

    assert (
        await client.post(f"{base}/workflows/{workflow_id}/deactivate", headers=headers)
    ).status_code == 200
    assert (await handle.describe()).schedule.state.paused
    await asyncio.sleep(0.5)  # a tick already in flight may still land
    paused_count = len(await runs_of(db, workflow_id))
    await asyncio.sleep(4.5)
    assert len(await runs_of(db, workflow_id)) == paused_count

    assert (await client.post(f"{base}/workflows/{workflow_id}/activate", headers=headers)).status_code == 200
    assert not (await handle.describe()).schedule.state.paused
    await wait_for_runs(db, workflow_id, paused_count + 1)

    # a new published version updates the schedule
    await client.patch(
        f"{base}/workflows/{workflow_id}", headers=headers, json={"triggerConfig": {"cron": "*/5 * * * *"}}
    )
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    described = await handle.describe()
    # the server stores a cron expression as a calendar: every 5th minute, at second 0
    (calendar,) = described.schedule.spec.calendars
    assert calendar.minute == (ScheduleRange(start=0, end=59, step=5),)
    assert calendar.second == (ScheduleRange(start=0, end=0, step=1),)
    assert not described.schedule.spec.intervals

    assert (await client.delete(f"{base}/workflows/{workflow_id}", headers=headers)).status_code == 204
    with pytest.raises(RPCError) as gone:
        await handle.describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def test_overlap_skip_never_runs_two_at_once(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection, temporal_client: Client
) -> None:
    client = api_with_worker
    slow = [{"id": "slow", "type": "delay", "seconds": 4}]
    base, headers, workflow_id = await schedule_workflow(
        client, {"intervalSeconds": 1, "overlap": "skip"}, slow
    )
    handle = temporal_client.get_schedule_handle(schedule_id(workflow_id))
    assert (await handle.describe()).schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    await wait_for_runs(db, workflow_id, 1)
    await asyncio.sleep(3)
    assert len(await runs_of(db, workflow_id)) == 1  # the ticks during the 4 s run were skipped
    assert (await handle.describe()).info.num_actions_skipped_overlap >= 2
    await client.delete(f"{base}/workflows/{workflow_id}", headers=headers)


async def test_the_seed_lock_guards_each_fired_start(
    api_with_worker: httpx.AsyncClient,
    db: asyncpg.Connection,
    redis: Redis,
    redis_keys: RedisKeys,
) -> None:
    client = api_with_worker
    base, headers, workflow_id = await schedule_workflow(client, {"intervalSeconds": 1})
    lock = redis_keys.schedule_lock(workflow_id)
    assert await redis.set(lock, "1", ex=60, nx=True)  # another start holds it
    await asyncio.sleep(0.3)
    held_from = len(await runs_of(db, workflow_id))
    await asyncio.sleep(3)
    assert len(await runs_of(db, workflow_id)) == held_from  # every tick skipped while it is held
    await redis.delete(lock)
    await wait_for_runs(db, workflow_id, held_from + 1)
    # released again after each start (the next tick, a second later, may hold it for a moment)
    for _ in range(50):
        if await redis.get(lock) is None:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the schedule lock was never released between starts")
    await client.delete(f"{base}/workflows/{workflow_id}", headers=headers)


async def test_a_bad_schedule_is_refused_with_its_path(api_client: httpx.AsyncClient) -> None:
    headers = await sign_up(api_client, "badclock@example.com")
    workspace = (await api_client.post("/api/v1/workspaces", headers=headers, json={"name": "C"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}"
    for config, path in (
        ({"cron": "every minute"}, "triggerConfig.cron"),
        ({"intervalSeconds": 5, "timezone": "Mars/Olympus"}, "triggerConfig.timezone"),
        ({"cron": "* * * * *", "intervalSeconds": 5}, "triggerConfig"),
        ({"intervalSeconds": 5, "overlap": "sometimes"}, "triggerConfig.overlap"),
    ):
        body = {"name": "x", "triggerType": "SCHEDULE", "triggerConfig": config, "steps": QUICK}
        response = await api_client.post(f"{base}/workflows", headers=headers, json=body)
        assert response.status_code == 422, config
        assert response.json()["path"] == path, response.json()


async def test_backfill_runs_the_missed_slots_and_the_schedule_shows_them(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """An hourly schedule (nothing fires during the test): the last three hours backfilled give one run per
    slot, each with its slot as `scheduledAt`; the schedule's view lists them and its next slots."""
    client = api_with_worker
    base, headers, workflow_id = await schedule_workflow(client, {"intervalSeconds": 3600})
    now = datetime.now(UTC)
    top = now.replace(minute=0, second=0, microsecond=0)
    slots = [top - timedelta(hours=n) for n in (2, 1, 0)]
    body = {
        "from": (slots[0] - timedelta(minutes=1)).isoformat(),
        "to": now.isoformat(),
        "overlap": "allow_all",
    }
    accepted = await client.post(f"{base}/workflows/{workflow_id}/backfill", headers=headers, json=body)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["overlap"] == "allow_all"

    rows = await wait_for_runs(db, workflow_id, 3, timeout=30)
    scheduled = sorted(datetime.fromisoformat(json.loads(r["trigger_data"])["scheduledAt"]) for r in rows)
    assert scheduled == slots
    await asyncio.sleep(1)
    assert len(await runs_of(db, workflow_id)) == 3  # one run per slot, none twice

    view = await client.get(f"{base}/workflows/{workflow_id}/schedule", headers=headers)
    assert view.status_code == 200, view.text
    shown = view.json()
    assert shown["paused"] is False
    assert datetime.fromisoformat(shown["nextRunTimes"][0]) == top + timedelta(hours=1)
    assert {r["executionId"] for r in shown["recentRuns"]} == {str(r["id"]) for r in rows}
    assert shown["runsTotal"] >= 3

    # the same through the Python client
    token = headers["Authorization"].removeprefix("Bearer ")
    async with AsyncClient(str(client.base_url), token=token, transport=client._transport) as baton:
        workspace_id = base.rsplit("/", 1)[1]
        assert {
            r.execution_id for r in (await baton.workflows.schedule(workspace_id, workflow_id)).recent_runs
        } == {str(r["id"]) for r in rows}
        again = await baton.workflows.backfill(
            workspace_id, workflow_id, slots[0] - timedelta(minutes=1), now, "skip"
        )
        assert again.overlap == "skip"
    await asyncio.sleep(3)
    assert len(await runs_of(db, workflow_id)) == 3  # a slot backfilled twice is still one run


async def test_a_backfill_is_refused_with_the_field_at_fault(api_client: httpx.AsyncClient) -> None:
    base, headers, workflow_id = await schedule_workflow(api_client, {"intervalSeconds": 3600})
    url = f"{base}/workflows/{workflow_id}/backfill"
    now = datetime.now(UTC)
    cases = [
        (
            {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()},
            "to",
        ),
        ({"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}, "from"),
        ({"from": (now - timedelta(days=40)).isoformat(), "to": now.isoformat()}, "from"),
        ({"from": "yesterday", "to": now.isoformat()}, "from"),
        (
            {"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat(), "overlap": "sometimes"},
            "overlap",
        ),
    ]
    for body, path in cases:
        refused = await api_client.post(url, headers=headers, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["path"] == path, refused.text
    manual = await api_client.post(
        f"{base}/workflows", headers=headers, json={"name": "M", "triggerType": "MANUAL", "steps": QUICK}
    )
    none = await api_client.get(f"{base}/workflows/{manual.json()['id']}/schedule", headers=headers)
    assert none.status_code == 409
    assert "no schedule" in none.json()["detail"]
