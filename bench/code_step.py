"""The code step's sandbox: how long a sandbox takes to start, what one call costs over the script itself,
and what a waiting child holds. Prints figures (not a test): `.venv/bin/python -m bench.code_step`.

- cold: a child started for the call (spawn, engine start, script, answer), as the first call of a worker;
- warm: the call a step makes when its language's warm child is ready (the usual case): what the step
  waits for over the script;
- back to back: calls one after another with no pause, so the warm child is often still starting;
- in process: the engine alone on a trivial script, the floor the process boundary adds to;
- RSS of a warm child (with its monty worker for Python).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import psutil

from integrations.sandbox.protocol import Job, Language
from integrations.sandbox.runner import Sandbox

SCRIPTS: dict[Language, str] = {"python": "input['a'] + 1", "javascript": "return input.a + 1"}


def job(language: Language) -> Job:
    return Job(
        language=language,
        source=SCRIPTS[language],
        input={"a": 1},
        now_ms=0,
        timeout_seconds=5,
        memory_bytes=64 * 2**20,
        max_output_bytes=64 * 1024,
    )


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (n={len(ordered)})"


async def timed(sandbox: Sandbox, language: Language, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        answer = await sandbox.run(job(language))
        samples.append(time.perf_counter() - started)
        assert answer.ok, answer
    return samples


async def ready(sandbox: Sandbox, language: Language) -> None:
    """Until the warm child has its engine up (it then sleeps on its stdin)."""
    task = sandbox.ready.get(language)
    if task is None:
        return
    child = psutil.Process((await task).pid)
    while child.cpu_percent(0.05) > 1:
        pass


def warm_rss_mb(sandbox: Sandbox, language: Language) -> float:
    task = sandbox.ready[language]
    process = psutil.Process(task.result().pid)
    return float(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])) / 2**20


def in_process(language: Language, count: int) -> list[float]:
    samples = []
    if language == "javascript":
        from py_mini_racer import MiniRacer

        context = MiniRacer()
        for _ in range(count):
            started = time.perf_counter()
            context.eval("(function (input) { return input.a + 1 })({a: 1})")
            samples.append(time.perf_counter() - started)
        return samples
    from pydantic_monty import Monty

    with Monty(max_processes=1) as pool:
        for _ in range(count):
            started = time.perf_counter()
            with pool.checkout() as session:
                session.feed_run(SCRIPTS["python"], inputs={"input": {"a": 1}})
            samples.append(time.perf_counter() - started)
    return samples


async def main(count: int) -> None:
    languages: tuple[Language, ...] = ("javascript", "python")
    for language in languages:
        cold = Sandbox(warm=False)
        cold_samples = await timed(cold, language, max(5, count // 4))
        warm = Sandbox()
        await warm.run(job(language))
        samples: list[float] = []
        for _ in range(count):
            await ready(warm, language)
            samples += await timed(warm, language, 1)
        await ready(warm, language)
        rss = warm_rss_mb(warm, language)
        started = time.perf_counter()
        burst = await timed(warm, language, count)
        rate = count / (time.perf_counter() - started)
        await warm.close()
        print(f"{language}: cold start {figures(cold_samples)}")
        print(f"{language}: warm call {figures(samples)}")
        print(f"{language}: back to back {figures(burst)}, {rate:.1f} calls/s")
        print(f"{language}: in process (engine only) {figures(in_process(language, count))}")
        print(f"{language}: warm child RSS {rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=40)
    asyncio.run(main(parser.parse_args().count))
