"""How a sync webhook's reply should come back from Temporal: what each way costs the server and the caller.

    .venv/bin/python -m bench.probe_sync_reply [--runs 300] [--concurrency 20]

Starts the embedded dev server (Baton's settings) and a worker in this process, and runs one small workflow
(a local activity standing in for the HTTP call, then the reply) three ways, interleaved, twice:

- `start + result`: an eager start, then the result's long poll (what Baton does when the `respond` step
  is the last one: the result carries the reply);
- `start + update`: an eager start, then an update that waits for the reply (Baton's path when a `respond`
  step comes before the end);
- `update-with-start`: one call that starts the run and waits for its update (no eager start: the server
  refuses it with an update).

Prints per way: p50/p99 ms at concurrency 1, runs/s at `--concurrency`, the Temporal server's CPU ms per run
and this process's (client and worker), and the history events of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from baton.embedded import EmbeddedTemporal, free_port

QUEUE = "probe-reply"


@activity.defn(name="probe.call")
async def call(value: int) -> dict[str, Any]:
    return {"tier": "gold", "n": value}


@workflow.defn(name="ProbeReply")
class ProbeReply:
    def __init__(self) -> None:
        self.response: dict[str, Any] | None = None
        self.taken = False

    @workflow.run
    async def run(self, n: int, replies: bool) -> dict[str, Any]:
        """`replies`: the caller waits on the `reply` update, so the run ends once it has been taken."""
        answer = await workflow.execute_local_activity(call, n, start_to_close_timeout=timedelta(seconds=10))
        self.response = {"status": 200, "body": answer}
        if replies:
            await workflow.wait_condition(lambda: self.taken, timeout=timedelta(seconds=30))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.response

    @workflow.update
    async def reply(self) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self.response is not None)
        assert self.response is not None
        self.taken = True
        return self.response


Way = Callable[[Client, int], Awaitable[dict[str, Any]]]


async def start_and_result(client: Client, n: int) -> dict[str, Any]:
    handle = await client.start_workflow(
        ProbeReply.run, args=[n, False], id=str(uuid.uuid4()), task_queue=QUEUE, request_eager_start=True
    )
    return await handle.result()


async def start_and_update(client: Client, n: int) -> dict[str, Any]:
    handle = await client.start_workflow(
        ProbeReply.run, args=[n, True], id=str(uuid.uuid4()), task_queue=QUEUE, request_eager_start=True
    )
    return await handle.execute_update(ProbeReply.reply)


async def update_with_start(client: Client, n: int) -> dict[str, Any]:
    operation = WithStartWorkflowOperation(
        ProbeReply.run,
        args=[n, True],
        id=str(uuid.uuid4()),
        task_queue=QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    return await client.execute_update_with_start_workflow(
        ProbeReply.reply, start_workflow_operation=operation
    )


WAYS: dict[str, Way] = {
    "start + result": start_and_result,
    "start + update": start_and_update,
    "update-with-start": update_with_start,
}


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def load(way: Way, client: Client, runs: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    numbers = iter(range(runs))

    async def lane() -> None:
        for n in numbers:
            began = time.perf_counter()
            answer = await way(client, n)
            assert answer["body"]["n"] == n, answer
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began


async def events_of_one_run(client: Client, way: Way) -> int:
    before = {w.id async for w in client.list_workflows("WorkflowType = 'ProbeReply'")}
    await way(client, 0)
    await asyncio.sleep(1.5)  # visibility is eventually consistent
    after = {w.id async for w in client.list_workflows("WorkflowType = 'ProbeReply'")}
    (new,) = after - before
    history = await client.get_workflow_handle(new).fetch_history()
    return len(history.events)


async def main(runs: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="baton-probe-") as folder:
        temporal = EmbeddedTemporal(Path(folder), free_port(), free_port())
        temporal.start()
        assert temporal.server is not None
        server = psutil.Process(temporal.server.process.pid)
        me = psutil.Process()
        try:
            client = await Client.connect(temporal.address)
            async with Worker(
                client,
                task_queue=QUEUE,
                workflows=[ProbeReply],
                activities=[call],
                workflow_runner=UnsandboxedWorkflowRunner(),
            ):
                for way in WAYS.values():  # warm up each path
                    await load(way, client, 20, 5)
                figures: dict[str, list[tuple[float, float, float, float, float]]] = {w: [] for w in WAYS}
                for _ in range(2):
                    for name, way in WAYS.items():
                        single, _ = await load(way, client, max(runs // 3, 30), 1)
                        server_before, me_before = cpu(server), cpu(me)
                        _, wall = await load(way, client, runs, concurrency)
                        server_ms = (cpu(server) - server_before) * 1000 / runs
                        me_ms = (cpu(me) - me_before) * 1000 / runs
                        p99 = sorted(single)[int(len(single) * 0.99) - 1]
                        figures[name].append((statistics.median(single), p99, runs / wall, server_ms, me_ms))
                print(
                    f"{'way':<18} {'c=1 p50 ms':>10} {'p99 ms':>7} {f'c={concurrency} runs/s':>12} "
                    f"{'server CPU ms/run':>17} {'client+worker':>13} {'events':>6}"
                )
                for name, way in WAYS.items():
                    rows = figures[name]
                    mean = [statistics.fmean(r[i] for r in rows) for i in range(5)]
                    events = await events_of_one_run(client, way)
                    print(
                        f"{name:<18} {mean[0]:>10.1f} {mean[1]:>7.1f} {mean[2]:>12.1f} "
                        f"{mean[3]:>17.1f} {mean[4]:>13.1f} {events:>6}"
                    )
        finally:
            temporal.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300, help="runs per way and round at --concurrency")
    parser.add_argument("--concurrency", type=int, default=20, help="lanes for the throughput figure")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.concurrency))
