"""The API killed with SIGKILL during a webhook burst and started again: every webhook call answered 2xx
has exactly one execution, and a sender that retries what failed with its Idempotency-Key (as senders do)
gets one execution per key, never two, even when the first call died between claiming its key and starting
its run."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import httpx
from temporalio.service import RPCError

from tests.api.test_webhooks import webhook_workflow
from tests.chaos.conftest import Children, record, start_api

CALLS = 300
CONCURRENCY = 10
KILLS = 3


async def ready(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the API did not come up")


async def test_an_api_killed_during_a_webhook_burst_acknowledges_each_run_once(
    children: Children,
) -> None:
    port = start_api(children.env(), children.logs / "api.log", children.processes)
    api = children.processes[-1]
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        await ready(client)
        steps = [{"id": "s", "type": "set", "values": {"n": "{{ trigger.body.n }}"}}]
        _, _, workflow_id, hook = await webhook_workflow(client, steps, email="burst@example.com")
        token = hook["token"]

        answers: dict[str, list[str]] = defaultdict(list)  # key -> execution ids answered
        refused = 0
        calls = iter(range(CALLS))

        async def sender() -> None:
            nonlocal refused
            for n in calls:
                key = f"order-{n}"
                for _ in range(200):  # retry what failed, with the same key, until acknowledged
                    try:
                        answer = await client.post(
                            f"/hooks/{token}", json={"n": n}, headers={"Idempotency-Key": key}
                        )
                    except httpx.TransportError:
                        refused += 1
                        await asyncio.sleep(0.1)
                        continue
                    if answer.status_code == 202:
                        answers[key].append(answer.json()["executionId"])
                        break
                    refused += 1
                    await asyncio.sleep(0.1)

        async def killer() -> None:
            for _ in range(KILLS):
                await asyncio.sleep(chance.uniform(0.5, 2.0))
                api.kill()
                api.start()

        await asyncio.wait_for(asyncio.gather(killer(), *(sender() for _ in range(CONCURRENCY))), timeout=180)
    api.stop()

    acknowledged = dict(answers)
    ids = {execution for found in acknowledged.values() for execution in found}
    rows = {
        r["id"]
        for r in await children.db.fetch(
            "SELECT id FROM workflow_executions WHERE workflow_id = $1", workflow_id
        )
    }
    started = 0
    for execution_id in rows:
        try:
            await children.temporal_client.get_workflow_handle(f"run-{execution_id}").describe()
            started += 1
        except RPCError:
            pass
    record(
        "API SIGKILL x3 during a burst of 300 webhook calls (c=10, retried with their Idempotency-Key)",
        seed=seed,
        webhooks_acknowledged=len(acknowledged),
        executions=len(rows),
        runs_started_in_temporal=started,
        answers_not_2xx_or_cut=refused,
        keys_with_two_executions=sum(1 for found in acknowledged.values() if len(set(found)) > 1),
    )
    assert len(acknowledged) == CALLS, seed
    assert all(len(set(found)) == 1 for found in acknowledged.values()), seed
    assert rows == ids, seed  # one execution per acknowledged key, and none other
    assert started == len(rows), seed  # and each of them was started
