"""Runs waiting for an event: what N runs parked on a `wait` step cost while they wait, and how long one
event takes to resume them all. Prints figures (not a test):

    .venv/bin/python -m bench.event_waits --waiting 10000

Starts `baton dev` (bench.stack), publishes a webhook workflow whose first step waits for `bench.go`, parks
N runs through the webhook (c=50), waits until all of them wait and the worker is quiet, measures the
worker's RSS and CPU over 10 s of waiting (and the Temporal server's), then sends one `bench.go` event
through POST /workspaces/{id}/events and measures until every run has finished.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import asyncpg
import httpx

from bench.common import Api, fire
from bench.stack import BenchStack, dev_stack
from core.settings import to_libpq_url

# one step: the run ends with the event that resumed it
STEPS: list[dict[str, Any]] = [
    {"id": "go", "type": "wait", "event": "bench.go", "match": "{{ event.data.batch == trigger.body.batch }}"}
]
WAITING = """
    SELECT count(*) FROM step_executions se JOIN workflow_executions we ON we.id = se.execution_id
    WHERE we.workflow_id = $1 AND se.state->>'for' = 'event'
"""


async def count(db: asyncpg.Connection, query: str, *args: Any) -> int:
    return int(await db.fetchval(query, *args))


async def measure(stack: BenchStack, total: int) -> None:
    db = await asyncpg.connect(to_libpq_url(stack.database_url))
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=stack.api, timeout=900, limits=limits) as client:
        api = Api(client)
        await api.sign_up()
        workflow_id, token = await api.publish(
            "Bench event waits", {"methods": ["POST"], "mode": "async"}, STEPS
        )
        rss_idle = stack.rss_mb("worker")

        async def call(n: int) -> Any:
            return await api.load.post(f"/hooks/{token}", {"batch": 1, "n": n})

        print(f"parking {total} runs on a wait step ...", flush=True)
        began = time.perf_counter()
        _, responses, wall = await fire(call, 50, total)
        accepted = sum(1 for r in responses if r.status_code == 202)
        while await count(db, WAITING, workflow_id) < accepted:
            await asyncio.sleep(2)
        while True:  # parked: the worker quiet again
            cpu = stack.cpu_seconds("worker")
            await asyncio.sleep(2)
            if (stack.cpu_seconds("worker") - cpu) / 2 < 0.05:
                break
        parked = time.perf_counter() - began
        rss = stack.rss_mb("worker")
        before = {name: stack.cpu_seconds(name) for name in ("worker", "temporal")}
        await asyncio.sleep(10)
        busy = {name: (stack.cpu_seconds(name) - spent) / 10 * 100 for name, spent in before.items()}
        rss = max(rss, stack.rss_mb("worker"))
        print(
            f"{accepted} runs waiting ({wall:.0f} s to accept, all waiting {parked:.0f} s after the first "
            f"call): worker {rss:.0f} MB (idle before: {rss_idle:.0f} MB), {busy['worker']:.1f}% CPU while "
            f"they wait; Temporal server {busy['temporal']:.1f}% CPU, {stack.rss_mb('temporal'):.0f} MB",
            flush=True,
        )
        sent_at = time.perf_counter()
        sent = await client.post(
            f"{api.base}/events", headers=api.headers, json={"name": "bench.go", "data": {"batch": 1}}
        )
        answered = time.perf_counter() - sent_at
        answer = sent.json()
        resumed = len(answer.get("resumed", []))
        finished = "SELECT count(*) FROM workflow_executions WHERE workflow_id = $1 AND status = 'SUCCESS'"
        while await count(db, finished, workflow_id) < resumed:
            await asyncio.sleep(1)
        done = time.perf_counter() - sent_at
        print(
            f"one event: {sent.status_code}, {answer.get('waiting')} waiting, {resumed} resumed; answered in "
            f"{answered:.1f} s ({resumed / answered:.0f} runs/s), all finished {done:.1f} s after sending",
            flush=True,
        )
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--waiting", type=int, default=10_000, help="runs parked at once")
    total = parser.parse_args().waiting
    with dev_stack() as stack:
        asyncio.run(measure(stack, total))


if __name__ == "__main__":
    main()
