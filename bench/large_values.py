"""Large values: a webhook body of many MB through a run and back out of the API, and what it costs.
Prints figures (not a test): `.venv/bin/python -m bench.large_values [--mb 20]`.

Starts `baton dev --split` (its blob store in the data folder, MAX_VALUE_BYTES 32 MiB) and publishes a sync
webhook whose run copies the body's text in a `set` step (a value past Temporal's 2 MiB payload limit: the
claim check stores it aside) and answers its length. A 1 MB call goes first (the worker warmed up), then the
large one while the worker's RSS is sampled: growth = peak RSS during the run - RSS just before it. Then the
run's answer shows the copy as a reference `{stored, size, url}` and GET on its URL reads it whole."""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.common import Api
from bench.files import Sampler
from bench.stack import dev_stack


async def call(client: httpx.AsyncClient, token: str, size: int) -> tuple[float, str]:
    started = time.perf_counter()
    answer = await client.post(f"/hooks/{token}", json={"text": "v" * size}, timeout=600)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200 or answer.json() != {"length": size}:
        raise SystemExit(f"the run did not answer its length: {answer.status_code} {answer.text[:500]}")
    return elapsed, answer.headers["x-baton-execution-id"]


async def measure(megabytes: int) -> None:
    size = megabytes * 1_000_000
    steps = [
        {"id": "copy", "type": "set", "values": {"text": "{{ trigger.body.text }}"}},
        {"id": "reply", "type": "respond", "body": {"length": "{{ steps.copy.output.text | length }}"}},
    ]
    with dev_stack(split=True) as stack:
        async with httpx.AsyncClient(base_url=stack.api, timeout=60) as client:
            api = Api(client)
            await api.sign_up()
            trigger = {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 300}
            _, token = await api.publish("large-values", trigger, steps)
            worker = stack.processes["worker"]
            await call(client, token, 1_000_000)  # warm-up
            await asyncio.sleep(1)
            baseline = worker.memory_info().rss
            with Sampler(worker) as sampler:
                elapsed, execution_id = await call(client, token, size)
            run = (await client.get(f"{api.base}/executions/{execution_id}", headers=api.headers)).json()
            copied = next(s for s in run["stepExecutions"] if s["stepId"] == "copy")["output"]
            in_run = run["duration"]
            started = time.perf_counter()
            read = await client.get(copied["url"], headers=api.headers, timeout=600)
            reading = time.perf_counter() - started
            if read.status_code != 200 or len(read.content) != copied["size"]:
                raise SystemExit(f"the stored value did not read back: {read.status_code} {copied}")
    growth = sampler.peak - baseline
    print(
        f"value {size / 1e6:.0f} MB: webhook -> set (copy) -> respond in {elapsed:.2f} s (the run itself "
        f"{in_run} ms); worker RSS before "
        f"{baseline / 2**20:.0f} MiB, peak {sampler.peak / 2**20:.0f} MiB, growth {growth / 2**20:.0f} MiB "
        f"= {growth / size:.1f}x the value; the run's answer: a reference of {copied['size']:,} bytes, "
        f"read back in {reading:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20, help="the value's size in MB (default 20)")
    asyncio.run(measure(parser.parse_args().mb))


if __name__ == "__main__":
    main()
