"""Throttled webhooks on the real stack: over the limit a run is delayed (Temporal's start delay), never
dropped, and no window starts more than `limit` runs; per key each value has its own limit; with
`onLimit: reject` (and for sync webhooks) the call over the limit gets 429 with Retry-After."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

from tests.integrations.conftest import Studio

NOTE = [{"id": "note", "type": "set", "values": {"n": "{{ trigger.body.n }}"}}]


async def hook_of(studio: Studio, workflow_id: str) -> str:
    hooks = (await studio.client.get(f"{studio.base}/webhooks", headers=studio.headers)).json()["items"]
    return str(next(h["token"] for h in hooks if h["workflowId"] == workflow_id))


async def finished_runs(studio: Studio, workflow_id: str, count: int, timeout: float = 30) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await studio.db.fetch(
            "SELECT e.*, s.started_at AS ran_at FROM workflow_executions e JOIN step_executions s ON "
            "s.execution_id = e.id WHERE e.workflow_id = $1 AND e.status = 'SUCCESS' ORDER BY s.started_at",
            workflow_id,
        )
        if len(rows) >= count:
            return list(rows)
        assert asyncio.get_running_loop().time() < deadline, f"{count} runs expected, {len(rows)} done"
        await asyncio.sleep(0.2)


async def test_over_the_limit_runs_are_delayed_never_dropped(studio: Studio) -> None:
    throttle = {"limit": 2, "windowSeconds": 2}
    workflow = await studio.publish(NOTE, "WEBHOOK", {"throttle": throttle})
    token = await hook_of(studio, workflow)
    # the burst starts as a window opens: a run's startedAt is taken a few ms after its slot is booked, and
    # a burst at a window's very end would see its first runs' startedAt fall in the next window
    await asyncio.sleep(2 - time.time() % 2 + 0.05)
    calls = [studio.client.post(f"/hooks/{token}", json={"n": n}) for n in range(6)]
    answers = await asyncio.gather(*calls)
    assert [a.status_code for a in answers] == [202] * 6  # none refused, none dropped
    rows = await finished_runs(studio, workflow, 6)
    assert sorted(json.loads(r["trigger_data"])["body"]["n"] for r in rows) == list(range(6))
    # each run's startedAt is when the limiter let it start (the delayed ones: their window's opening)
    starts = sorted(r["started_at"].timestamp() for r in rows)
    windows = [int(t // 2) for t in starts]
    assert max(windows.count(w) for w in windows) <= 2, starts  # fixed windows: none started more than 2
    assert sorted(set(windows)) == [windows[0], windows[0] + 1, windows[0] + 2]  # 2 + 2 + 2, in a row
    # and Temporal held each until then: its step ran no earlier than its start
    assert all(r["ran_at"] >= r["started_at"] - timedelta(milliseconds=50) for r in rows)


async def test_each_key_has_its_own_limit_and_reject_answers_429(studio: Studio) -> None:
    throttle = {"limit": 1, "windowSeconds": 60, "key": "{{ trigger.body.customer }}", "onLimit": "reject"}
    workflow = await studio.publish(NOTE, "WEBHOOK", {"throttle": throttle})
    token = await hook_of(studio, workflow)
    ada = await studio.client.post(f"/hooks/{token}", json={"customer": "ada", "n": 1})
    grace = await studio.client.post(f"/hooks/{token}", json={"customer": "grace", "n": 2})
    again = await studio.client.post(f"/hooks/{token}", json={"customer": "ada", "n": 3})
    assert (ada.status_code, grace.status_code) == (202, 202)
    assert again.status_code == 429, again.text
    assert again.json()["error"] == "throttled"
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    await finished_runs(studio, workflow, 2)


async def test_a_bad_throttle_is_refused_with_its_path(studio: Studio) -> None:
    body = {"name": "t", "triggerType": "WEBHOOK", "steps": NOTE,
            "triggerConfig": {"throttle": {"limit": 0, "windowSeconds": 10}}}  # fmt: skip
    refused = await studio.client.post(f"{studio.base}/workflows", headers=studio.headers, json=body)
    assert refused.status_code == 422
    assert refused.json()["path"] == "triggerConfig.throttle.limit"
    body["triggerConfig"] = {"throttle": {"limit": 1, "windowSeconds": 10, "key": "{{ trigger.body. }}"}}
    refused = await studio.client.post(f"{studio.base}/workflows", headers=studio.headers, json=body)
    assert refused.status_code == 422
    assert refused.json()["path"] == "triggerConfig.throttle.key"
