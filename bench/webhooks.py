"""Accepted webhooks per second and their latency against `baton dev`, at concurrency 1, 10 and 50.

Starts `baton dev` on free ports in a temporary folder (or uses `--api URL --database-url URL` of a running
stack), publishes an async WEBHOOK workflow with one step, then fires `--requests` calls per concurrency
level. A call counts as accepted when it answers 202 with an execution id. Afterwards every accepted call is
checked to have exactly one execution row, and no execution exists that no call accepted.

    python -m bench.webhooks                      # 300 / 1000 / 2000 calls at c=1 / 10 / 50
    python -m bench.webhooks --requests 500       # the same number at every level

Prints, per level: accepted/s, p50/p99/max latency (ms), and the exactly-once check.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx

from baton.embedded import free_port
from bench.devstack import STACK_VARIABLES, ready

LEVELS = {1: 300, 10: 1000, 50: 2000}
STEPS = [{"id": "note", "type": "set", "values": {"order": "{{ trigger.body.order }}"}}]


@contextmanager
def dev_stack() -> Iterator[tuple[str, str]]:
    """`baton dev` on free ports: (API base URL, database URL)."""
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as folder:
        ports = [free_port() for _ in range(5)]
        env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
        env["LOG_LEVEL"] = "WARNING"
        names = ("--port", "--postgres-port", "--redis-port", "--temporal-port", "--temporal-ui-port")
        args = [sys.executable, "-m", "baton", "dev", "--data-dir", str(Path(folder) / "data")]
        for name, port in zip(names, ports, strict=True):
            args += [name, str(port)]
        print(f"starting baton dev in {folder} ...", flush=True)
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        api = f"http://127.0.0.1:{ports[0]}"
        started = time.monotonic()
        try:
            while not ready(f"{api}/readyz"):
                if process.poll() is not None or time.monotonic() - started > 180:
                    raise SystemExit("baton dev did not become ready; run it by hand to see why")
                time.sleep(0.1)
            print(f"baton dev ready in {time.monotonic() - started:.1f} s", flush=True)
            yield api, f"postgresql://postgres@127.0.0.1:{ports[1]}/baton"
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)


async def prepare(client: httpx.AsyncClient) -> tuple[str, str]:
    """A user, an ENTERPRISE workspace and a published async WEBHOOK workflow: (workflow id, token)."""
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    password = "bench password 1"
    await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "firstName": "Bench", "lastName": "Mark"},
    )
    tokens = (await client.post("/api/v1/auth/login", json={"email": email, "password": password})).json()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "Bench"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}"
    (await client.patch(base, headers=headers, json={"plan": "ENTERPRISE"})).raise_for_status()
    body = {
        "name": "Bench hook",
        "triggerType": "WEBHOOK",
        "triggerConfig": {"methods": ["POST"], "mode": "async"},
        "steps": STEPS,
    }
    created = await client.post(f"{base}/workflows", headers=headers, json=body)
    created.raise_for_status()
    workflow_id = created.json()["id"]
    (
        await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    ).raise_for_status()
    hooks = (await client.get(f"{base}/webhooks", headers=headers)).json()["items"]
    return workflow_id, hooks[0]["token"]


async def level(client: httpx.AsyncClient, token: str, concurrency: int, total: int) -> tuple[list[str], int]:
    latencies: list[float] = []
    accepted: list[str] = []
    refused = 0
    counter = iter(range(total))

    async def sender() -> None:
        nonlocal refused
        for n in counter:
            started = time.perf_counter()
            response = await client.post(f"/hooks/{token}", json={"order": n})
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code == 202:
                accepted.append(response.json()["executionId"])
            else:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"c={concurrency:<3} {total:>5} calls: {len(accepted) / elapsed:7.1f} accepted/s   "
        f"p50 {statistics.median(latencies):6.1f} ms   p99 {p99:6.1f} ms   max {latencies[-1]:6.1f} ms   "
        f"refused {refused}",
        flush=True,
    )
    return accepted, refused


async def run(api: str, database_url: str, levels: dict[int, int]) -> int:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=api, timeout=60, limits=limits) as client:
        workflow_id, token = await prepare(client)
        for _ in range(20):  # warm the caches and connections
            await client.post(f"/hooks/{token}", json={"order": -1})
        warm = 20
        accepted: list[str] = []
        for concurrency, total in levels.items():
            ids, _ = await level(client, token, concurrency, total)
            accepted += ids
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id FROM workflow_executions WHERE workflow_id = $1", workflow_id
        )
    finally:
        await connection.close()
    stored = [row["id"] for row in rows]
    missing = set(accepted) - set(stored)
    duplicates = len(accepted) - len(set(accepted))
    extra = len(stored) - warm - len(set(accepted))
    ok = not missing and not duplicates and extra == 0
    print(
        f"exactly once: {len(accepted)} accepted calls, {len(stored) - warm} executions; "
        f"missing {len(missing)}, duplicate ids {duplicates}, executions no call accepted {extra} -> "
        f"{'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, help="calls per concurrency level (default 300/1000/2000)")
    parser.add_argument("--api", help="base URL of a running Baton API (default: start baton dev)")
    parser.add_argument("--database-url", help="its DATABASE_URL (needed with --api)")
    options = parser.parse_args()
    levels = {c: options.requests or n for c, n in LEVELS.items()}
    if options.api:
        if not options.database_url:
            parser.error("--api needs --database-url to check every call has one execution")
        raise SystemExit(asyncio.run(run(options.api, options.database_url, levels)))
    with dev_stack() as (api, database_url):
        code = asyncio.run(run(api, database_url, levels))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
