"""Fair tenants: workspace A sends a burst of async webhook calls (2,000 by default, each run one
`http.request` to a local server, so its runs pile up in Temporal's task queue faster than the worker
drains them), while workspace B sends one call a second to a one-step workflow of its own; B's start
latency (from its call to its run's first step) is printed with fairness (the runs' workspace as Temporal
fairness key, `baton dev`'s default) and without it (TEMPORAL_FAIRNESS=false), each on a fresh `baton dev`,
one after the other.

    .venv/bin/python -m bench.fairness              # 2,000 calls from A at c=50
    .venv/bin/python -m bench.fairness --calls 500  # a quicker check
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime

import asyncpg
import httpx

from bench.common import Api, drain, fire
from bench.engine import serve_http
from bench.stack import dev_stack
from core.settings import to_libpq_url


async def burst(stack_api: str, database_url: str, calls: int, url: str) -> dict[str, float]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    db = await asyncpg.connect(to_libpq_url(database_url))
    try:
        async with httpx.AsyncClient(base_url=stack_api, timeout=120, limits=limits) as client:
            tenant_a, tenant_b = Api(client), Api(client)
            await tenant_a.sign_up()
            await tenant_b.sign_up()
            work = [{"id": "call", "type": "action", "action": "http.request", "input": {"url": url}}]
            a_workflow, a_token = await tenant_a.publish("A's burst", {"mode": "async"}, work)
            note = [{"id": "note", "type": "set", "values": {"n": "{{ trigger.body.n }}"}}]
            b_workflow, b_token = await tenant_b.publish("B's trickle", {"mode": "async"}, note)

            sent: dict[str, float] = {}  # B's execution id -> when its call was sent (epoch seconds)
            done = asyncio.Event()

            async def trickle() -> None:
                n = 0
                while not done.is_set():
                    at = time.time()
                    answer = await tenant_b.load.post(f"/hooks/{b_token}", {"n": n})
                    if answer.status_code == 202:
                        sent[answer.json()["executionId"]] = at
                    n += 1
                    await asyncio.sleep(max(0.0, 1.0 - (time.time() - at)))

            async def call(n: int) -> object:
                return await tenant_a.load.post(f"/hooks/{a_token}", {"n": n})

            trickling = asyncio.create_task(trickle())
            began = time.monotonic()
            _, responses, wall = await fire(call, 50, calls)
            accepted = sum(1 for r in responses if getattr(r, "status_code", 0) == 202)
            print(f"  A: {accepted}/{calls} calls accepted in {wall:.1f} s", flush=True)
            await drain(db, [a_workflow], timeout=900)
            drained = time.monotonic() - began
            done.set()
            await trickling
            await drain(db, [b_workflow])
            rows = await db.fetch(
                "SELECT e.id, s.started_at FROM workflow_executions e "
                "JOIN step_executions s ON s.execution_id = e.id AND s.step_id = 'note' "
                "WHERE e.workflow_id = $1",
                b_workflow,
            )
            latencies = sorted(
                (row["started_at"].timestamp() - sent[row["id"]]) * 1000
                for row in rows
                if row["id"] in sent and isinstance(row["started_at"], datetime)
            )
    finally:
        await db.close()
    if not latencies:
        raise SystemExit("no run of B was recorded")
    return {
        "b_runs": len(latencies),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max": latencies[-1],
        "a_drained_s": drained,
    }


async def main_async(calls: int) -> None:
    http_server, url = await serve_http()
    results: dict[str, dict[str, float]] = {}
    try:
        for label, env in (("with fairness", {}), ("without fairness", {"TEMPORAL_FAIRNESS": "false"})):
            print(f"{label}:", flush=True)
            with dev_stack(env) as stack:
                results[label] = await burst(stack.api, stack.database_url, calls, url)
            figures = results[label]
            print(
                f"  B's start latency over {figures['b_runs']:.0f} runs: p50 {figures['p50']:.0f} ms, "
                f"p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms "
                f"(A's runs drained {figures['a_drained_s']:.0f} s after its burst began)",
                flush=True,
            )
    finally:
        http_server.close()
    fair, unfair = results["with fairness"], results["without fairness"]
    print(
        f"\nB's start latency p50/p99 while A sends {calls} calls: with fairness {fair['p50']:.0f}/"
        f"{fair['p99']:.0f} ms, without {unfair['p50']:.0f}/{unfair['p99']:.0f} ms "
        f"(p50 x{unfair['p50'] / max(fair['p50'], 1):.1f} lower with fairness)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="A's async webhook calls (default 2,000)")
    asyncio.run(main_async(parser.parse_args().calls))


if __name__ == "__main__":
    main()
