"""Baton and n8n side by side on this machine: the same 3-step workflow (webhook -> HTTP call to a local
echo server -> condition -> set/respond) and the same load generator, one platform after the other (never
at once), `--seconds` per point:

    sync 3 steps at c=1 (runs/s, p50), sync 3 steps at c=50 (runs/s, p99), async ingest at c=50 (202s/s)

then Baton's async backlog: after ingest at c=10 stops, how long its runs took to drain. n8n runs in its
default mode (regular, SQLite: not durable, a crash loses the runs in flight); Baton on `baton dev`.

n8n is installed from the npm registry into a folder outside the repository (`--n8n-dir`, default
~/.cache/baton-bench/n8n-<version>) the first time; it needs Node.js 20.19 or later.

    .venv/bin/python -m bench.peers.n8n                 # 20 s per point
    .venv/bin/python -m bench.peers.n8n --seconds 10 --only baton
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from baton.embedded import free_port
from bench.common import Api, RawClient, drain
from bench.engine import serve_http, summarize
from bench.scenario_runs import THREE_STEPS
from bench.stack import dev_stack, ready
from core.settings import to_libpq_url

N8N_VERSION = "2.8.4"
SYNC_ID, ASYNC_ID = "BatonBenchSync01", "BatonBenchAsyn01"


async def fire_for(
    call: Callable[[int], Awaitable[Any]], concurrency: int, seconds: float
) -> tuple[list[float], list[Any], float]:
    """Calls over `concurrency` lanes until `seconds` pass: (latencies ms, responses, wall seconds)."""
    latencies: list[float] = []
    responses: list[Any] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def lane() -> None:
        while time.perf_counter() < deadline:
            n = next(counter)
            began = time.perf_counter()
            response = await call(n)
            latencies.append((time.perf_counter() - began) * 1000)
            responses.append(response)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return latencies, responses, time.perf_counter() - began


async def measure(
    name: str,
    sync_call: Callable[[int], Awaitable[Any]],
    async_call: Callable[[int], Awaitable[Any]],
    seconds: float,
    ok: Callable[[Any], bool],
) -> dict[str, float]:
    figures: dict[str, float] = {}
    await fire_for(sync_call, 5, 3)  # warm up
    for concurrency in (1, 50):
        latencies, responses, wall = await fire_for(sync_call, concurrency, seconds)
        good = [latency for latency, r in zip(latencies, responses, strict=True) if ok(r)]
        if len(good) < len(responses):
            bad = next(r for r in responses if not ok(r))
            failed = len(responses) - len(good)
            print(f"  {name}: {failed} sync calls failed: {bad.status_code} {bad.text[:200]}", flush=True)
        stats = summarize(good or [0.0], wall)
        figures[f"sync_c{concurrency}_rps"] = len(good) / wall
        figures[f"sync_c{concurrency}_p50"] = stats["p50_ms"]
        figures[f"sync_c{concurrency}_p99"] = stats["p99_ms"]
        print(
            f"  {name} sync 3 steps c={concurrency}: {len(good) / wall:.1f} runs/s, "
            f"p50 {stats['p50_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms",
            flush=True,
        )
    latencies, responses, wall = await fire_for(async_call, 50, seconds)
    accepted = sum(1 for r in responses if 200 <= r.status_code < 300)
    figures["async_c50_rps"] = accepted / wall
    print(f"  {name} async ingest c=50: {accepted / wall:.1f} accepted/s", flush=True)
    return figures


# ---------------------------------------------------------------------------------------------------- Baton


async def baton(seconds: float, url: str) -> dict[str, float]:
    print("Baton (baton dev):", flush=True)
    with dev_stack() as stack:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        db = await asyncpg.connect(to_libpq_url(stack.database_url))
        try:
            async with httpx.AsyncClient(base_url=stack.api, timeout=120, limits=limits) as client:
                api = Api(client)
                await api.sign_up()
                sync_id, sync_token = await api.publish("Peers sync", {"mode": "sync"}, THREE_STEPS)
                note = [{"id": "note", "type": "set", "values": {"n": "{{ trigger.body.n }}"}}]
                async_id, async_token = await api.publish("Peers async", {"mode": "async"}, note)
                figures = await measure(
                    "Baton",
                    lambda n: api.load.post(f"/hooks/{sync_token}", {"url": url, "n": n}),
                    lambda n: api.load.post(f"/hooks/{async_token}", {"n": n}),
                    seconds,
                    lambda r: r.status_code == 200 and r.json() == {"tier": "gold"},
                )
                await drain(db, [sync_id, async_id])
                # the backlog: ingest at c=10, then how long until every run has ended
                _, responses, wall = await fire_for(
                    lambda n: api.load.post(f"/hooks/{async_token}", {"n": n}), 10, seconds
                )
                stopped = time.monotonic()
                await drain(db, [async_id], timeout=600)
                figures["async_c10_rps"] = len(responses) / wall
                figures["backlog_drain_s"] = time.monotonic() - stopped
                print(
                    f"  Baton async ingest c=10: {len(responses) / wall:.1f} accepted/s; the runs finished "
                    f"{figures['backlog_drain_s']:.1f} s after the load stopped",
                    flush=True,
                )
        finally:
            await db.close()
    return figures


# ------------------------------------------------------------------------------------------------------ n8n


def install_n8n(folder: Path) -> Path:
    binary = folder / "node_modules" / ".bin" / "n8n"
    if binary.exists():
        return binary
    if shutil.which("npm") is None:
        raise SystemExit(
            "npm was not found: install Node.js 20.19 or later (Debian: apt-get install nodejs npm)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    print(f"installing n8n {N8N_VERSION} into {folder} (once; a few minutes) ...", flush=True)
    # n8n depends on xlsx by a tarball URL on cdn.sheetjs.com, outside the npm registry (unreachable where
    # only the registry is): the registry's last xlsx stands in (n8n's spreadsheet nodes are not measured)
    package = {"name": "baton-bench-n8n", "private": True, "overrides": {"xlsx": "0.18.5"}}
    (folder / "package.json").write_text(json.dumps(package))
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"n8n@{N8N_VERSION}"],
        cwd=folder,
        check=True,
    )
    return binary


def n8n_workflows(url: str) -> list[dict[str, Any]]:
    def node(
        name: str, kind: str, version: float, parameters: dict[str, Any], x: int, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": name.lower(),
            "name": name,
            "type": f"n8n-nodes-base.{kind}",
            "typeVersion": version,
            "position": [x, 0],
            "parameters": parameters,
            **extra,
        }

    def to(*names: str) -> dict[str, Any]:
        return {"main": [[{"node": name, "type": "main", "index": 0}] for name in names]}

    def tier(value: str) -> dict[str, Any]:
        assignment = {"id": value, "name": "tier", "value": value, "type": "string"}
        return {"assignments": {"assignments": [assignment]}, "options": {}}

    def hook(path: str, mode: str) -> dict[str, Any]:
        return {"httpMethod": "POST", "path": path, "responseMode": mode, "options": {}}

    reply = {"respondWith": "json", "responseBody": '={{ { "tier": $json.tier } }}', "options": {}}
    condition = {
        "conditions": {
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict"},
            "conditions": [
                {
                    "id": "gold",
                    "leftValue": "={{ $json.tier }}",
                    "rightValue": "gold",
                    "operator": {"type": "string", "operation": "equals"},
                }
            ],
            "combinator": "and",
        },
        "options": {},
    }

    def workflow(
        workflow_id: str, name: str, nodes: list[Any], connections: dict[str, Any]
    ) -> dict[str, Any]:
        settings = {"executionOrder": "v1"}
        return {"id": workflow_id, "name": name, "active": False, "settings": settings, "nodes": nodes,
                "connections": connections}  # fmt: skip

    sync = workflow(
        SYNC_ID,
        "Peers sync",
        [
            node("Webhook", "webhook", 2, hook("peers-sync", "responseNode"), 0, webhookId="peers-sync"),
            node("Lookup", "httpRequest", 4.2, {"url": "={{ $json.body.url }}", "options": {}}, 200),
            node("VIP", "if", 2, condition, 400),
            node("Gold", "set", 3.4, tier("gold"), 600),
            node("Basic", "set", 3.4, tier("basic"), 600),
            node("Reply", "respondToWebhook", 1.1, reply, 800),
        ],
        {
            "Webhook": to("Lookup"),
            "Lookup": to("VIP"),
            "VIP": {
                "main": [
                    [{"node": "Gold", "type": "main", "index": 0}],
                    [{"node": "Basic", "type": "main", "index": 0}],
                ]
            },
            "Gold": to("Reply"),
            "Basic": to("Reply"),
        },
    )
    ingest = workflow(
        ASYNC_ID,
        "Peers async",
        [
            node("Webhook", "webhook", 2, hook("peers-async", "onReceived"), 0, webhookId="peers-async"),
            node("Note", "set", 3.4, tier("noted"), 200),
        ],
        {"Webhook": to("Note")},
    )
    del url
    return [sync, ingest]


@contextmanager
def n8n_server(binary: Path, url: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-n8n-") as folder:
        port = free_port()
        env = {
            **os.environ,
            "N8N_USER_FOLDER": folder,
            "N8N_PORT": str(port),
            "N8N_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "N8N_LOG_LEVEL": "warn",
            "N8N_RUNNERS_ENABLED": "false",
            "DB_SQLITE_POOL_SIZE": "2",
        }
        workflows = Path(folder) / "workflows.json"
        workflows.write_text(json.dumps(n8n_workflows(url)))
        for args in (
            ["import:workflow", f"--input={workflows}"],
            ["publish:workflow", f"--id={SYNC_ID}"],
            ["publish:workflow", f"--id={ASYNC_ID}"],
        ):
            done = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"n8n {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        log = (Path(folder) / "n8n.log").open("wb")
        process = subprocess.Popen([str(binary), "start"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        began = time.monotonic()
        try:
            while not ready(f"{base}/healthz"):
                if process.poll() is not None or time.monotonic() - began > 180:
                    raise SystemExit(f"n8n did not start:\n{Path(log.name).read_text()[-3000:]}")
                time.sleep(0.2)
            print(f"n8n ready in {time.monotonic() - began:.1f} s", flush=True)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


async def n8n(seconds: float, url: str, folder: Path) -> dict[str, float]:
    print(f"n8n {N8N_VERSION} (regular mode, SQLite):", flush=True)
    binary = install_n8n(folder)
    with n8n_server(binary, url) as base:
        load = RawClient(base)
        await asyncio.sleep(2)  # webhooks are registered as the server starts
        try:
            return await measure(
                "n8n",
                lambda n: load.post("/webhook/peers-sync", {"url": url, "n": n}),
                lambda n: load.post("/webhook/peers-async", {"n": n}),
                seconds,
                lambda r: r.status_code == 200 and r.json() == {"tier": "gold"},
            )
        finally:
            load.close()


def table(ours: dict[str, float], theirs: dict[str, float]) -> str:
    rows = [
        ("sync 3 steps, c=1: runs/s, p50", "sync_c1_rps", "sync_c1_p50"),
        ("sync 3 steps, c=50: runs/s, p99", "sync_c50_rps", "sync_c50_p99"),
        ("async ingest, c=50: 202s/s", "async_c50_rps", None),
    ]
    lines = ["| scenario | Baton | n8n | ratio |", "|---|---|---|---|"]
    for title, rate, latency in rows:
        cells = [
            f"{figures[rate]:.1f}" + (f", {figures[latency]:,.1f} ms" if latency else "")
            for figures in (ours, theirs)
        ]
        ratio = ours[rate] / max(theirs[rate], 1e-9)
        lines.append(f"| {title} | {cells[0]} | {cells[1]} | {ratio:.2f}x |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    http_server, url = await serve_http()
    try:
        ours = await baton(args.seconds, url) if args.only in (None, "baton") else None
        theirs = await n8n(args.seconds, url, args.n8n_dir) if args.only in (None, "n8n") else None
    finally:
        http_server.close()
    if ours and theirs:
        print("\n" + table(ours, theirs), flush=True)
    if ours:
        drained = ours["backlog_drain_s"]
        print(
            f"\nBaton's async backlog at c=10: drained {drained:.1f} s after the load stopped (target: 5 s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20, help="load per point (default 20 s)")
    parser.add_argument("--only", choices=["baton", "n8n"], help="measure one platform only")
    parser.add_argument(
        "--n8n-dir",
        type=Path,
        default=Path.home() / ".cache" / "baton-bench" / f"n8n-{N8N_VERSION}",
        help="where n8n is installed (outside the repository)",
    )
    asyncio.run(main_async(parser.parse_args()))
    sys.exit(0)


if __name__ == "__main__":
    main()
