"""Interpreter vs hand-written Temporal workflows, same activities, one dev server.

    .venv/bin/python -m bench.engine [--runs 200]

The definition: `http.request` to a local server, a condition on its answer, a `set`. Prints completed
runs/s at concurrency 1 and 50 and p50/p99 latency (start to result), and the interpreter's ratios to the
hand-written workflow that keeps the same records. Servers are embedded (Temporal with its file store and
the WAL pragmas, as `baton dev` runs it) unless DATABASE_URL / REDIS_URL / TEMPORAL_ADDRESS are set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.actions import ActionActivities
from activities.records import RecordActivities
from baton.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedTemporal, free_port
from baton.migrate import upgrade_to_head_async
from bench.handwritten import HandWrittenBare, HandWrittenRecorded
from core.codec import data_converter
from core.contract import CURRENT_ENGINE, INTERPRETER_WORKFLOW, RunInput, RunResult
from core.db import create_engine
from core.redis_keys import RedisKeys, create_redis
from core.settings import Settings, to_libpq_url
from worker.main import build_worker, warm_up, workflow_runner

STEPS = [
    {"id": "lookup", "type": "action", "action": "http.request", "input": {"url": "{{ trigger.url }}"}},
    {
        "id": "vip",
        "type": "condition",
        "if": "{{ steps.lookup.output.body.tier == 'gold' }}",
        "then": [{"id": "gold", "type": "set", "values": {"tier": "gold"}}],
        "else": [{"id": "basic", "type": "set", "values": {"tier": "basic"}}],
    },
]


async def serve_http(work_seconds: float = 0.0) -> tuple[asyncio.Server, str]:
    """A minimal keep-alive HTTP/1.1 server answering JSON, so the benchmark measures Baton, not it; each
    answer takes `work_seconds` (a stand-in for the service's own work)."""
    body = json.dumps({"tier": "gold"}).encode()
    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                if length:
                    await reader.readexactly(length)
                if work_seconds:
                    await asyncio.sleep(work_seconds)
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/person"


async def fresh_database(server_url: str) -> str:
    """A new, migrated database on the server of `server_url`: its URL."""
    database = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(to_libpq_url(server_url))
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    database_url = to_libpq_url(server_url).rsplit("/", 1)[0] + f"/{database}"
    await upgrade_to_head_async(database_url)
    return database_url


def summarize(latencies_ms: list[float], wall_seconds: float) -> dict[str, float]:
    """runs/s over the wall time, and p50/p95/p99 of the latencies (ms)."""
    ordered = sorted(latencies_ms)

    def rank(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]

    return {
        "runs_per_s": len(ordered) / wall_seconds,
        "p50_ms": statistics.median(ordered),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
    }


async def measure(
    label: str, start_one: Callable[[], Awaitable[Any]], runs: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    queue = list(range(runs))

    async def lane() -> None:
        while queue:
            queue.pop()
            began = time.perf_counter()
            await start_one()
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    figures = summarize(latencies, wall)
    print(
        f"  {label:<34} c={concurrency:<3} {figures['runs_per_s']:7.1f} runs/s   "
        f"p50 {figures['p50_ms']:7.1f} ms   p99 {figures['p99_ms']:7.1f} ms",
        flush=True,
    )
    return figures


Server = TypeVar("Server", EmbeddedPostgres, EmbeddedRedis, EmbeddedTemporal)


def started(server: Server, stack: ExitStack) -> Server:
    """An embedded server, started now and stopped when `stack` closes."""
    server.start()
    stack.callback(server.stop)
    return server


async def main(runs: int) -> None:
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="baton-bench-") as folder:
        data = Path(folder)
        print("Starting servers ...", flush=True)
        postgres = EmbeddedPostgres(data / "postgres", free_port())
        database_url = os.environ.get("DATABASE_URL") or started(postgres, stack).url
        redis = EmbeddedRedis(data / "redis", free_port())
        redis_url = os.environ.get("REDIS_URL") or started(redis, stack).url
        temporal_address = os.environ.get("TEMPORAL_ADDRESS")
        if not temporal_address:
            eager = {"system.enableActivityEagerExecution": "true"} if os.environ.get("BENCH_EAGER") else {}
            temporal = EmbeddedTemporal(data / "temporal", free_port(), free_port(), dynamic_config=eager)
            temporal_address = started(temporal, stack).address
        database_url = await fresh_database(database_url)
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            temporal_address=temporal_address,
            temporal_task_queue="bench",
            db_pool_size=20,
            outbound_allow=["127.0.0.1"],  # the local HTTP server the steps call
            _env_file=None,
        )
        results = await run_benchmark(settings, runs)
    print(
        "\nInterpreter / hand-written with the same records (target: latency <= 1.15x, throughput >= 0.85x):"
    )
    for concurrency in (1, 50):
        ours = results[("interpreter (BatonRun)", concurrency)]
        theirs = results[("hand-written, same records", concurrency)]
        print(
            f"  c={concurrency:<3} p50 latency x{ours['p50_ms'] / theirs['p50_ms']:.2f}   "
            f"throughput x{ours['runs_per_s'] / theirs['runs_per_s']:.2f}"
        )


async def run_benchmark(
    settings: Settings, runs: int, contenders_shown: tuple[str, ...] | None = None
) -> dict[tuple[str, int], dict[str, float]]:
    """Figures per (contender, concurrency); `contenders_shown` limits which contenders run."""
    db = await asyncpg.connect(to_libpq_url(settings.database_url))
    user = await db.fetchval(
        "INSERT INTO users (email, password_hash, first_name, last_name) "
        "VALUES ('bench@example.com', 'h', 'B', 'M') RETURNING id"
    )
    workspace = await db.fetchval(
        "INSERT INTO workspaces (name, slug) VALUES ('Bench', 'bench') RETURNING id"
    )
    workflow_id = await db.fetchval(
        "INSERT INTO workflows (workspace_id, user_id, name, trigger_type, trigger_config, steps) "
        "VALUES ($1, $2, 'bench', 'MANUAL', '{}', $3) RETURNING id",
        workspace,
        user,
        json.dumps(STEPS),
    )
    await db.close()
    http_server, url = await serve_http()
    client = await Client.connect(settings.temporal_address, data_converter=data_converter(settings))
    engine, redis = create_engine(settings), create_redis(settings)
    await warm_up(engine, redis)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=200)) as http:
        baton_worker = build_worker(client, settings, http, engine, redis)
        records = RecordActivities(engine, redis, RedisKeys())
        reference = Worker(
            client,
            task_queue="bench-reference",
            workflows=[HandWrittenRecorded, HandWrittenBare],
            activities=[*ActionActivities(http, records).activities(), *records.activities()],
            workflow_runner=workflow_runner(),
        )
        async with baton_worker, reference:

            def starter(workflow: str, task_queue: str, record: bool = True) -> Callable[[], Awaitable[Any]]:
                async def start_one() -> Any:
                    execution_id = str(uuid.uuid4())
                    run = RunInput(
                        execution_id=execution_id,
                        workflow_id=workflow_id,
                        workspace_id=workspace,
                        version=1,
                        definition={"triggerType": "MANUAL", "steps": STEPS},
                        trigger_data={"url": url},
                        record=record,
                        engine=CURRENT_ENGINE,
                    )
                    return await client.execute_workflow(
                        workflow, run, id=f"run-{execution_id}", task_queue=task_queue, result_type=RunResult
                    )

                return start_one

            contenders = {
                "interpreter (BatonRun)": starter(INTERPRETER_WORKFLOW, "bench"),
                "hand-written, same records": starter("HandWrittenRecorded", "bench-reference"),
                "interpreter, no records": starter(INTERPRETER_WORKFLOW, "bench", record=False),
                "hand-written, no records (floor)": starter("HandWrittenBare", "bench-reference"),
            }
            if contenders_shown is not None:
                contenders = {k: v for k, v in contenders.items() if k in contenders_shown}
            print(f"Warming up ({min(20, runs)} runs each) ...", flush=True)
            for start_one in contenders.values():
                await measure_quietly(start_one, min(20, runs))
            results: dict[tuple[str, int], dict[str, float]] = {}
            for concurrency in (1, 50):
                print(f"\nConcurrency {concurrency}, {runs} runs each:")
                for label, start_one in contenders.items():
                    results[(label, concurrency)] = await measure(label, start_one, runs, concurrency)
    http_server.close()
    await redis.aclose()
    await engine.dispose()
    return results


async def measure_quietly(start_one: Callable[[], Awaitable[Any]], runs: int) -> None:
    await asyncio.gather(*(start_one() for _ in range(runs)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="completed runs per contender and concurrency")
    asyncio.run(main(parser.parse_args().runs))
