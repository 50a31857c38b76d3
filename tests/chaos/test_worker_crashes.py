"""The worker killed with SIGKILL at random moments while runs execute, and started again each time: every
run completes, each step's effect reaches the service under one idempotency key, the step records and the
workflow's counters are exact."""

from __future__ import annotations

import asyncio
import bisect
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client

from core.settings import Settings
from tests.chaos.conftest import Process, record, run_records, worker_env
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer, Seen

RUNS = 200
STEPS = 5
KILLS = 20
DEADLINE_SECONDS = 240


def repeats_per_run_and_kill(hits: list[Seen], kills: list[float]) -> Counter[tuple[Any, int]]:
    """How many calls each run made again after each kill: a call is made again when its key was seen
    before, and it is the doing of the last kill before it."""
    seen: set[str | None] = set()
    repeats: Counter[tuple[Any, int]] = Counter()
    for hit in sorted(hits, key=lambda h: h.at):
        key = hit.headers.get("Idempotency-Key")
        if key in seen:
            repeats[(json.loads(hit.body)["order"], bisect.bisect(kills, hit.at))] += 1
        seen.add(key)
    return repeats


async def test_a_worker_killed_twenty_times_loses_no_run_and_repeats_no_effect(
    settings: Settings,
    db: asyncpg.Connection,
    temporal_client: Client,
    task_queue: str,
    http_server: ScriptedServer,
    processes: list[Process],
    tmp_path: Path,
) -> None:
    url = http_server.script("/effect", Reply(200, {"ok": True}))
    steps = [
        {
            "id": f"charge{n}",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": url, "json": {"step": n, "order": "{{ trigger.order }}"}},
        }
        for n in range(STEPS)
    ]
    workflow_id = await create_workflow(db, steps)
    worker = Process(["worker"], worker_env(settings, task_queue), tmp_path / "worker.log")
    processes.append(worker)
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    engine = Engine(temporal_client, db, task_queue)

    worker.start()
    handles = [await engine.start(steps, {"order": n}, workflow_id=workflow_id) for n in range(RUNS)]
    began = time.monotonic()
    kills: list[float] = []
    for _ in range(KILLS):
        await asyncio.sleep(chance.uniform(0.3, 2.0))
        kills.append(time.monotonic())
        worker.kill()
        worker.start()
    results = await asyncio.wait_for(
        asyncio.gather(*(handle.result() for handle in handles)), DEADLINE_SECONDS
    )
    took = time.monotonic() - began
    worker.stop()

    statuses = Counter(result.status for result in results)
    rows = await db.fetch("SELECT id, status FROM workflow_executions WHERE workflow_id = $1", workflow_id)
    step_rows, counters = await run_records(db, workflow_id)
    hits = http_server.hits("/effect")
    keys = Counter(hit.headers.get("Idempotency-Key") for hit in hits)
    repeats = repeats_per_run_and_kill(hits, kills)
    record(
        "worker SIGKILL x20 during 200 runs of 5 steps",
        seed=seed,
        runs_attempted=RUNS,
        runs_completed=statuses["SUCCESS"],
        runs_lost=RUNS - len(results),
        effects_expected=RUNS * STEPS,
        effects_distinct=len(keys),
        duplicated_effects=len(keys) - RUNS * STEPS,
        redeliveries_same_key=len(hits) - len(keys),
        most_repeats_of_one_run_after_one_kill=max(repeats.values(), default=0),
        worker_starts=worker.starts,
        seconds=round(took, 1),
    )
    assert statuses == {"SUCCESS": RUNS}, (statuses, seed)
    assert len(rows) == RUNS
    assert {row["status"] for row in rows} == {"SUCCESS"}
    assert step_rows == {"SUCCESS": RUNS * STEPS}
    assert counters == (RUNS, RUNS, 0)
    # every step reached the service, under one key per step: a redelivery after a crash reuses its key
    assert None not in keys
    assert len(keys) == RUNS * STEPS, seed
    # a crash repeats at most the one call a run had in flight: never the steps that had already acted
    assert max(repeats.values(), default=0) <= 1, (sorted(repeats.items(), key=lambda kv: -kv[1])[:5], seed)
