"""Baton's benchmark suite: every scenario of issue 8 against `baton dev` with its defaults, one line each.

    bench/run                      # the whole suite (about 15 minutes; 1,000,000 executions for reads)
    bench/run --quick              # smaller counts (minutes), for a check after a change
    bench/run --only sync-webhook --only steps-40
    bench/run --write BENCHMARKS.md

Each line: runs/s, p50/p95/p99 ms, RSS MB, CPU s per run (Baton's api + worker processes), the ratio to a
baseline measured in the same run, and the target with MET or MISSED. See bench/README.md for what each
scenario does and what its baseline is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil

from bench.common import HEADER, Api, Row, format_row, report
from bench.engine import serve_http
from bench.scenario_reads import api_reads
from bench.scenario_runs import async_webhook, idle, interpreter, steps_40, sync_webhook
from bench.scenario_waiting import waiting
from bench.stack import BenchStack, dev_stack
from core.settings import to_libpq_url

SCENARIOS = (
    "idle",
    "async-webhook",
    "sync-webhook",
    "steps-40",
    "interpreter",
    "waiting",
    "api-reads",
)


async def run_suite(
    stack: BenchStack, chosen: list[str], quick: bool, executions: int, parked: int
) -> list[Row]:
    rows: list[Row] = []
    db = await asyncpg.connect(to_libpq_url(stack.database_url))
    http_server, url = await serve_http()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    handwritten: dict[int, dict[str, float]] = {}
    try:
        async with httpx.AsyncClient(base_url=stack.api, timeout=120, limits=limits) as client:
            api = Api(client)
            await api.sign_up()
            print("\n" + HEADER, flush=True)

            async def scenario(name: str, work: Awaitable[list[Row]]) -> None:
                """Runs one scenario; a failure is reported as its row and the suite goes on."""
                try:
                    rows.extend(await work)
                except Exception as exc:
                    rows.append(report(Row(name, met=False, target="(failed)", notes=[repr(exc)[:300]])))

            if "idle" in chosen:
                await scenario("idle", idle(stack))
            if "interpreter" in chosen or "sync-webhook" in chosen:
                found, handwritten = await interpreter(stack, quick)
                rows.extend(found if "interpreter" in chosen else [])
            if "async-webhook" in chosen:
                await scenario("async-webhook", async_webhook(stack, api, db, quick))
            if "sync-webhook" in chosen:
                await scenario("sync-webhook", sync_webhook(stack, api, db, url, quick, handwritten))
            if "steps-40" in chosen:
                await scenario("steps-40", steps_40(stack, api, db, quick))
            if "waiting" in chosen:
                await scenario("waiting", waiting(stack, api, db, parked))
            if "api-reads" in chosen:
                await scenario("api-reads", api_reads(stack, api, db, executions))
    finally:
        http_server.close()
        await db.close()
    return rows


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.node()}: {psutil.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def write_markdown(path: Path, rows: list[Row], command: str, seconds: float) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}` ({seconds / 60:.0f} min).",
        f"Machine: {machine()}. Everything on 127.0.0.1; `baton dev` defaults (embedded PostgreSQL, Redis",
        "and Temporal dev server with its file database).",
        "",
        "| scenario | runs/s | p50 ms | p95 ms | p99 ms | RSS MB | CPU s/run | vs baseline | target | |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]

    def cell(value: float | None, digits: int = 1) -> str:
        return f"{value:.{digits}f}" if value is not None else ""

    for row in rows:
        ratio = f"x{row.ratio:.2f} {row.baseline}" if row.ratio is not None else row.baseline
        verdict = "" if row.met is None else ("MET" if row.met else "MISSED")
        lines.append(
            f"| {row.scenario} | {cell(row.runs_per_s)} | {cell(row.p50)} | {cell(row.p95)} "
            f"| {cell(row.p99)} "
            f"| {cell(row.rss_mb, 0)} | {cell(row.cpu_s_per_run, 4)} | {ratio} | {row.target} | {verdict} |"
        )
    lines += ["", "Notes printed by the run:", ""]
    for row in rows:
        for note in row.notes:
            lines.append(f"- {row.scenario}: {note}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run these scenarios only")
    parser.add_argument("--quick", action="store_true", help="smaller counts: a check, not the figures")
    parser.add_argument("--executions", type=int, help="executions for api-reads (1,000,000; quick 100,000)")
    parser.add_argument("--waiting", type=int, help="runs parked at once (10,000; quick 1,000)")
    parser.add_argument(
        "--split", action="store_true", help="baton dev --split (api and worker as two processes)"
    )
    parser.add_argument("--write", type=Path, help="also write the results as Markdown (BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    options = parser.parse_args()
    chosen = options.only or list(SCENARIOS)
    executions = options.executions or (100_000 if options.quick else 1_000_000)
    parked = options.waiting or (1_000 if options.quick else 10_000)
    print(f"Baton benchmark suite: {', '.join(chosen)}\n{machine()}", flush=True)
    began = time.monotonic()
    with dev_stack(split=options.split) as stack:
        rows = asyncio.run(run_suite(stack, chosen, options.quick, executions, parked))
    seconds = time.monotonic() - began
    print(f"\nDone in {seconds / 60:.1f} min.\n\n{HEADER}")
    for row in rows:
        print(format_row(row))
    command = "bench/run " + " ".join(sys.argv[1:])
    if options.write:
        write_markdown(options.write, rows, command.strip(), seconds)
        print(f"\nwrote {options.write}")
    if options.json:
        options.json.write_text(json.dumps([row.__dict__ for row in rows], indent=2))
    missed = [row.scenario for row in rows if row.met is False]
    if missed:
        print(f"\nMISSED: {', '.join(missed)}")


if __name__ == "__main__":
    main()
