"""What one hand-off from the Temporal dev server to a worker costs, with and without Baton's FAST_DISPATCH.

    .venv/bin/python -m bench.probe_dispatch [--runs 30]

Starts the embedded dev server twice (its default dynamic config, then Baton's) and times, at concurrency 1,
a workflow that does nothing, one with one activity and one with one local activity, each started normally
and eagerly. The difference between the two servers is the queue read rate limit (`FAST_DISPATCH`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from baton.embedded import FAST_DISPATCH, EmbeddedTemporal, free_port


@activity.defn(name="probe.noop")
async def noop(value: int) -> int:
    return value


@workflow.defn(name="ProbeEmpty")
class ProbeEmpty:
    @workflow.run
    async def run(self) -> int:
        return 1


@workflow.defn(name="ProbeActivity")
class ProbeActivity:
    @workflow.run
    async def run(self) -> int:
        return int(await workflow.execute_activity(noop, 1, start_to_close_timeout=timedelta(seconds=10)))


@workflow.defn(name="ProbeLocalActivity")
class ProbeLocalActivity:
    @workflow.run
    async def run(self) -> int:
        return int(
            await workflow.execute_local_activity(noop, 1, start_to_close_timeout=timedelta(seconds=10))
        )


async def probe(label: str, dynamic_config: dict[str, str], runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="baton-probe-") as folder:
        # Undo FAST_DISPATCH for the server's own defaults (the same keys at the server's default values).
        temporal = EmbeddedTemporal(Path(folder), free_port(), free_port(), dynamic_config=dynamic_config)
        temporal.start()
        try:
            client = await Client.connect(temporal.address)
            async with Worker(
                client,
                task_queue="probe",
                workflows=[ProbeEmpty, ProbeActivity, ProbeLocalActivity],
                activities=[noop],
                workflow_runner=UnsandboxedWorkflowRunner(),
            ):
                print(label)
                for name in ("ProbeEmpty", "ProbeActivity", "ProbeLocalActivity"):
                    for eager in (False, True):
                        latencies = []
                        for _ in range(runs + 5):
                            began = time.perf_counter()
                            handle = await client.start_workflow(
                                name, id=str(uuid.uuid4()), task_queue="probe", request_eager_start=eager
                            )
                            await handle.result()
                            latencies.append((time.perf_counter() - began) * 1000)
                        start = "eager start" if eager else "normal start"
                        print(f"  {name:<20} {start:<13} p50 {statistics.median(latencies[5:]):6.1f} ms")
        finally:
            temporal.stop()


async def main(runs: int) -> None:
    defaults = dict.fromkeys(FAST_DISPATCH, "20")  # the dev server's default read rate (per second)
    await probe("dev server defaults (queues read at most 20 times a second):", defaults, runs)
    await probe("Baton's FAST_DISPATCH:", {}, runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs per case")
    asyncio.run(main(parser.parse_args().runs))
