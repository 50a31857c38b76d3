"""Debounced webhooks on the real stack: a burst of calls for one key gives one run, with the last call's
trigger and the burst's size, `seconds` after the last call; each key has its own burst; a worker restart
while a burst waits for its quiet time loses nothing and runs nothing twice; bad configurations are 422."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from tests.integrations.conftest import Restartable, Studio, eventually
from tests.integrations.test_throttle import hook_of

NOTE = [{"id": "note", "type": "set", "values": {"n": "{{ trigger.body.n }}"}}]
DEBOUNCE = {"seconds": 2, "key": "{{ trigger.body.customer }}"}


async def runs_of(db: asyncpg.Connection, workflow_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT status, trigger_data FROM workflow_executions WHERE workflow_id = $1 ORDER BY created_at",
        workflow_id,
    )
    return [{"status": r["status"], "trigger": json.loads(r["trigger_data"])} for r in rows]


async def settled(
    db: asyncpg.Connection, workflow_id: str, count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """The workflow's runs once `count` of them have ended (and a quiet second after, to catch extras)."""

    async def ended() -> list[dict[str, Any]] | None:
        found = await runs_of(db, workflow_id)
        return found if sum(1 for r in found if r["status"] == "SUCCESS") >= count else None

    assert await eventually(ended, timeout) is not None, await runs_of(db, workflow_id)
    await asyncio.sleep(1)
    return await runs_of(db, workflow_id)


async def test_a_burst_per_key_gives_one_run_with_its_last_call_after_the_quiet_time(studio: Studio) -> None:
    workflow_id = await studio.publish(NOTE, "WEBHOOK", {"debounce": DEBOUNCE})
    token = await hook_of(studio, workflow_id)
    for n in range(5):
        answer = await studio.client.post(f"/hooks/{token}", json={"customer": "ada", "n": n})
        assert answer.status_code == 202, answer.text
        assert answer.json() == {
            "executionId": None, "status": "PENDING", "replayed": False, "debounced": True,
            "runsAfterSeconds": 2.0,
        }  # fmt: skip
        if n == 2:
            grace = await studio.client.post(f"/hooks/{token}", json={"customer": "grace", "n": 100})
            assert grace.status_code == 202, grace.text
        await asyncio.sleep(0.3)
    assert await runs_of(studio.db, workflow_id) == [], "a run started before the burst was quiet"

    runs = await settled(studio.db, workflow_id, 2)
    by_customer = {r["trigger"]["body"]["customer"]: r["trigger"] for r in runs}
    assert len(runs) == 2, runs
    assert by_customer["ada"]["body"]["n"] == 4
    assert by_customer["ada"]["debounce"]["events"] == 5
    assert by_customer["grace"]["body"]["n"] == 100
    assert by_customer["grace"]["debounce"]["events"] == 1

    # the next burst of a key is a new run
    await studio.client.post(f"/hooks/{token}", json={"customer": "ada", "n": 7})
    runs = await settled(studio.db, workflow_id, 3)
    assert [r["trigger"]["body"]["n"] for r in runs][-1] == 7


async def test_a_burst_waiting_for_its_quiet_time_survives_a_worker_restart(
    restartable: Restartable,
) -> None:
    client, db = restartable.client, restartable.db
    async with restartable.worker() as first:
        studio = restartable.studio(first)
        workflow_id = await studio.publish(NOTE, "WEBHOOK", {"debounce": DEBOUNCE})
        token = await hook_of(studio, workflow_id)
        for n in range(3):
            answer = await client.post(f"/hooks/{token}", json={"customer": "c", "n": n})
            assert answer.status_code == 202, answer.text
    # no worker while the quiet time passes; calls still come (Temporal holds them for the debouncer)
    assert (await client.post(f"/hooks/{token}", json={"customer": "c", "n": 3})).status_code == 202
    await asyncio.sleep(3)
    assert await runs_of(db, workflow_id) == []
    async with restartable.worker():
        runs = await settled(db, workflow_id, 1)
    assert len(runs) == 1, runs
    assert runs[0]["trigger"]["body"]["n"] == 3
    assert runs[0]["trigger"]["debounce"]["events"] == 4


async def test_debounce_on_a_sync_webhook_or_with_a_throttle_is_refused(studio: Studio) -> None:
    for config in (
        {"mode": "sync", "debounce": {"seconds": 5}},
        {"debounce": {"seconds": 5}, "throttle": {"limit": 1, "windowSeconds": 60}},
        {"debounce": {"seconds": 0}},
        {"debounce": {"seconds": 5, "key": "{{ trigger."}},
    ):
        created = await studio.client.post(
            f"{studio.base}/workflows",
            headers=studio.headers,
            json={"name": "bad", "triggerType": "WEBHOOK", "triggerConfig": config, "steps": NOTE},
        )
        assert created.status_code == 422, created.text
        assert "debounce" in created.text, created.text
