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
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client

from api.pagination import encode_cursor
from bench.engine import fresh_database, run_benchmark, serve_http, summarize
from bench.stack import BenchStack, dev_env, dev_stack
from core.db import delete_in_batches
from core.execution_reads import list_query
from core.partitions import Partitions
from core.runs import INSERT_PENDING
from core.settings import Settings, to_asyncpg_url, to_libpq_url

SCENARIOS = (
    "idle",
    "async-webhook",
    "sync-webhook",
    "steps-40",
    "interpreter",
    "waiting",
    "api-reads",
)
FINAL = ("SUCCESS", "FAILED", "CANCELLED", "TIMEOUT")


# ---------------------------------------------------------------------------------------------- results


@dataclass
class Row:
    scenario: str
    runs_per_s: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    rss_mb: float | None = None
    cpu_s_per_run: float | None = None
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    def with_latencies(self, figures: dict[str, float]) -> Row:
        self.runs_per_s = figures["runs_per_s"]
        self.p50, self.p95, self.p99 = figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]
        return self


def _f(value: float | None, width: int, digits: int = 1) -> str:
    return f"{value:{width}.{digits}f}" if value is not None else " " * (width - 1) + "-"


def format_row(row: Row) -> str:
    verdict = "" if row.met is None else ("MET" if row.met else "MISSED")
    ratio = f"x{row.ratio:.2f} {row.baseline}" if row.ratio is not None else row.baseline or "-"
    return (
        f"{row.scenario:<34}{_f(row.runs_per_s, 9)}{_f(row.p50, 9)}{_f(row.p95, 9)}{_f(row.p99, 9)}"
        f"{_f(row.rss_mb, 8, 0)}{_f(row.cpu_s_per_run, 10, 4)}  {ratio:<44} {row.target} {verdict}"
    )


HEADER = (
    f"{'scenario':<34}{'runs/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'RSS MB':>8}{'CPU s/run':>10}"
    f"  {'vs baseline (same run)':<44} target"
)


def report(row: Row) -> Row:
    print(format_row(row), flush=True)
    for note in row.notes:
        print(f"    {note}", flush=True)
    return row


# ---------------------------------------------------------------------------------------------- API helpers


class Api:
    """A user with an ENTERPRISE workspace on the stack's API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.load = RawClient(str(client.base_url).rstrip("/"))
        self.headers: dict[str, str] = {}
        self.base = ""
        self.workspace_id = ""

    async def sign_up(self) -> None:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        password = "bench password 1"
        account = {"email": email, "password": password, "firstName": "Bench", "lastName": "Mark"}
        (await self.client.post("/api/v1/auth/register", json=account)).raise_for_status()
        login = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        self.headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        created = await self.client.post("/api/v1/workspaces", headers=self.headers, json={"name": "Bench"})
        created.raise_for_status()
        self.workspace_id = created.json()["id"]
        self.base = f"/api/v1/workspaces/{self.workspace_id}"
        plan = await self.client.patch(self.base, headers=self.headers, json={"plan": "ENTERPRISE"})
        plan.raise_for_status()

    async def publish(
        self, name: str, trigger: dict[str, Any], steps: list[dict[str, Any]]
    ) -> tuple[str, str]:
        """A published WEBHOOK workflow: (workflow id, webhook token)."""
        body = {"name": name, "triggerType": "WEBHOOK", "triggerConfig": trigger, "steps": steps}
        created = await self.client.post(f"{self.base}/workflows", headers=self.headers, json=body)
        if created.status_code >= 400:
            raise SystemExit(f"could not create the {name!r} workflow: {created.text}")
        workflow_id = created.json()["id"]
        published = await self.client.post(
            f"{self.base}/workflows/{workflow_id}/publish", headers=self.headers, json={}
        )
        published.raise_for_status()
        hooks = (await self.client.get(f"{self.base}/webhooks", headers=self.headers)).json()["items"]
        token = next(hook["token"] for hook in hooks if hook["workflowId"] == workflow_id)
        return workflow_id, token


async def fire(
    call: Callable[[int], Awaitable[Any]], concurrency: int, total: int
) -> tuple[list[float], list[Any], float]:
    """`total` calls over `concurrency` lanes: (latencies ms, responses in call order: `responses[n]` is
    what `call(n)` returned, wall seconds)."""
    latencies: list[float] = []
    responses: list[Any] = [None] * total
    counter = iter(range(total))

    async def lane() -> None:
        for n in counter:
            began = time.perf_counter()
            response = await call(n)
            latencies.append((time.perf_counter() - began) * 1000)
            responses[n] = response

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return latencies, responses, time.perf_counter() - began


class RawResponse:
    """What `RawClient` read: the status and the body (JSON is decoded on demand)."""

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.text = body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)


class RawClient:
    """A minimal keep-alive HTTP/1.1 client for load (POST of a JSON body): httpx spends ~2 ms of CPU per
    call, which on 2 cores is taken from the server being measured. One connection per lane."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: Any) -> RawResponse:
        payload = json.dumps(body).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        while True:
            reused = bool(self._idle)
            if reused:
                reader, writer = self._idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if not reused:
                    raise  # a fresh connection that fails is the server's failure: report it
                # the server closed this idle keep-alive connection: send again on a new one
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        response = RawResponse(status, await reader.readexactly(length) if length else b"")
        self._idle.append((reader, writer))
        return response

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()


async def drain(db: asyncpg.Connection, workflow_ids: list[str], timeout: float = 600) -> None:
    """Waits until every execution of these workflows has finished (so scenarios do not overlap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        open_runs = await db.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) "
            "AND status NOT IN ('SUCCESS', 'FAILED', 'CANCELLED', 'TIMEOUT')",
            workflow_ids,
        )
        if not open_runs:
            return
        await asyncio.sleep(0.5)
    raise SystemExit(f"runs of {workflow_ids} did not finish within {timeout:.0f} s")


def per_run(cpu_before: float, cpu_after: float, runs: int) -> float | None:
    return (cpu_after - cpu_before) / runs if runs else None


# ---------------------------------------------------------------------------------------------- scenarios


async def idle(stack: BenchStack) -> list[Row]:
    """RSS of api + worker after start-up, and their CPU over 10 quiet seconds."""
    await asyncio.sleep(5)
    before = stack.cpu_seconds("api", "worker")
    await asyncio.sleep(10)
    cpu = (stack.cpu_seconds("api", "worker") - before) / 10 * 100
    rss = stack.rss_mb("api", "worker")
    row = Row(
        "idle baton dev (api + worker)",
        rss_mb=rss,
        baseline="(no baseline: absolute)",
        target="<= 300 MB",
        met=rss <= 300,
        notes=[
            f"api {stack.rss_mb('api'):.0f} MB, worker {stack.rss_mb('worker'):.0f} MB; CPU {cpu:.1f}% "
            f"while idle; embedded servers (not counted): temporal {stack.rss_mb('temporal'):.0f} MB, "
            f"postgres {stack.rss_mb('postgres'):.0f} MB (postmaster), redis {stack.rss_mb('redis'):.0f} MB"
        ],
    )
    return [report(row)]


async def temporal_starts(stack: BenchStack, total: int) -> dict[str, float]:
    """Baseline for webhook ingest: bare workflow starts/s from a Temporal client at concurrency 50 (on a
    task queue no worker polls, so only the start is measured)."""
    client = await Client.connect(stack.temporal_address)

    async def start(_: int) -> None:
        await client.start_workflow("BenchNothing", id=f"bench-start-{uuid.uuid4()}", task_queue="bench-idle")

    await fire(start, 10, 20)
    latencies, _, wall = await fire(start, 50, total)
    return summarize(latencies, wall)


SPLIT = ("api", "worker", "temporal", "postgres", "redis")


def cpu_snapshot(stack: BenchStack) -> dict[str, float]:
    """CPU seconds so far of each process of the stack, and of this bench process (the load client)."""
    names = [name for name in SPLIT if name in stack.processes]
    taken = {name: stack.cpu_seconds(name) for name in dict.fromkeys(names)}
    own = psutil.Process().cpu_times()
    return {**taken, "load client": own.user + own.system}


def cpu_split(before: dict[str, float], after: dict[str, float], runs: int, wall: float) -> str:
    """Where the machine's CPU went per run: the profile that says what stands in the way of more runs/s."""
    if runs <= 0 or wall <= 0:
        return "no run completed"
    per = {name: (after[name] - before[name]) * 1000 / runs for name in before}
    busy = sum(after[name] - before[name] for name in before) / wall
    shares = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(per.items(), key=lambda kv: -kv[1]))
    return f"CPU ms per run: {shares}; {sum(per.values()):.1f} in all, {busy:.2f} of 2 cores busy"


async def async_webhook(stack: BenchStack, api: Api, db: asyncpg.Connection, quick: bool) -> list[Row]:
    steps = [{"id": "note", "type": "set", "values": {"order": "{{ trigger.body.order }}"}}]
    workflow_id, token = await api.publish("Bench async", {"methods": ["POST"], "mode": "async"}, steps)
    baseline = await temporal_starts(stack, 500 if quick else 2000)

    async def call(n: int) -> RawResponse:
        return await api.load.post(f"/hooks/{token}", {"order": n})

    await fire(call, 10, 20)
    await drain(db, [workflow_id])
    rows: list[Row] = []
    accepted: list[str] = []
    for concurrency, total in ((10, 300 if quick else 1000), (50, 500 if quick else 2000)):
        before = stack.cpu_seconds("api", "worker")
        split_before = cpu_snapshot(stack)
        latencies, responses, wall = await fire(call, concurrency, total)
        split_after = cpu_snapshot(stack)
        ids = [r.json()["executionId"] for r in responses if r.status_code == 202]
        accepted += ids
        await drain(db, [workflow_id])  # the runs too: CPU per run counts the worker's part
        row = Row(f"async webhook ingest c={concurrency}").with_latencies(summarize(latencies, wall))
        row.runs_per_s = len(ids) / wall
        row.cpu_s_per_run = per_run(before, stack.cpu_seconds("api", "worker"), len(ids))
        row.rss_mb = stack.rss_mb("api", "worker")
        row.ratio, row.baseline = row.runs_per_s / baseline["runs_per_s"], "bare Temporal starts/s"
        if concurrency == 50:
            row.target, row.met = ">= 300/s", row.runs_per_s >= 300
        else:
            row.target, row.met = "p99 <= 100 ms", (row.p99 or 0) <= 100
        row.notes.append(f"while calls came in: {cpu_split(split_before, split_after, len(ids), wall)}")
        refused = len(responses) - len(ids)
        if refused:
            row.notes.append(
                f"{refused} calls refused: {responses[-1].status_code} {responses[-1].text[:200]}"
            )
        rows.append(report(row))
    stored = {
        r["id"]
        for r in await db.fetch("SELECT id FROM workflow_executions WHERE workflow_id = $1", workflow_id)
    }
    missing = set(accepted) - stored
    rows[-1].notes.append(
        f"bare Temporal starts at c=50: {baseline['runs_per_s']:.0f}/s, p50 {baseline['p50_ms']:.1f} ms; "
        f"exactly once: {len(accepted)} accepted, {len(missing)} without an execution, "
        f"{len(accepted) - len(set(accepted))} duplicate ids"
    )
    print(f"    {rows[-1].notes[-1]}", flush=True)
    return rows


THREE_STEPS: list[dict[str, Any]] = [
    {"id": "lookup", "type": "action", "action": "http.request", "input": {"url": "{{ trigger.body.url }}"}},
    {
        "id": "vip",
        "type": "condition",
        "if": "{{ steps.lookup.output.body.tier == 'gold' }}",
        "then": [{"id": "gold", "type": "set", "values": {"tier": "gold"}}],
        "else": [{"id": "basic", "type": "set", "values": {"tier": "basic"}}],
    },
    {"id": "reply", "type": "respond", "status": 200, "body": {"tier": "{{ vars.tier }}"}},
]


async def sync_webhook(
    stack: BenchStack,
    api: Api,
    db: asyncpg.Connection,
    url: str,
    quick: bool,
    handwritten: dict[int, dict[str, float]],
) -> list[Row]:
    trigger: dict[str, Any] = {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 30}
    workflow_id, token = await api.publish("Bench sync", trigger, THREE_STEPS)

    async def call(n: int) -> RawResponse:
        return await api.load.post(f"/hooks/{token}", {"url": url, "n": n})

    await fire(call, 10, 30)
    rows: list[Row] = []
    for concurrency, total in ((1, 100 if quick else 300), (50, 500 if quick else 1500)):
        before = stack.cpu_seconds("api", "worker")
        split_before = cpu_snapshot(stack)
        latencies, responses, wall = await fire(call, concurrency, total)
        split_after = cpu_snapshot(stack)
        done = [r for r in responses if r.status_code == 200 and r.json() == {"tier": "gold"}]
        row = Row(f"sync webhook, 3 steps c={concurrency}").with_latencies(summarize(latencies, wall))
        row.runs_per_s = len(done) / wall
        row.cpu_s_per_run = per_run(before, stack.cpu_seconds("api", "worker"), len(done))
        row.rss_mb = stack.rss_mb("api", "worker")
        row.notes.append(cpu_split(split_before, split_after, len(done), wall))
        reference = handwritten.get(concurrency)
        if reference:
            if concurrency == 1:
                row.ratio = (row.p50 or 0) / reference["p50_ms"]
                row.baseline = "hand-written p50 (Temporal client, same steps)"
            else:
                row.ratio = row.runs_per_s / reference["runs_per_s"]
                row.baseline = "hand-written runs/s (Temporal client)"
        if concurrency == 1:
            row.target, row.met = "p50 <= 60 ms", (row.p50 or 0) <= 60
        else:
            row.target, row.met = ">= 150 runs/s", row.runs_per_s >= 150
        if len(done) < total:
            bad = next(r for r in responses if r not in done)
            row.notes.append(f"{total - len(done)} calls not completed: {bad.status_code} {bad.text[:200]}")
        rows.append(report(row))
    await drain(db, [workflow_id])
    return rows


async def steps_40(stack: BenchStack, api: Api, db: asyncpg.Connection, quick: bool) -> list[Row]:
    """40 http.request steps in a row, each answered after 10 ms of (simulated) work; sync webhook, c=1."""
    server, url = await serve_http(work_seconds=0.010)
    steps: list[dict[str, Any]] = [
        {"id": f"s{i}", "type": "action", "action": "http.request", "input": {"url": url}} for i in range(40)
    ]
    steps.append({"id": "reply", "type": "respond", "status": 200, "body": {"done": True}})
    trigger: dict[str, Any] = {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 120}
    workflow_id, token = await api.publish("Bench 40 steps", trigger, steps)
    async with httpx.AsyncClient() as direct:
        began = time.perf_counter()
        for _ in range(40):
            await direct.get(url)
        one_call_ms = (time.perf_counter() - began) * 1000 / 40

    async def call(n: int) -> RawResponse:
        return await api.load.post(f"/hooks/{token}", {"n": n})

    await fire(call, 1, 2)
    runs = 5 if quick else 20
    before = stack.cpu_seconds("api", "worker")
    latencies, responses, wall = await fire(call, 1, runs)
    server.close()
    done = sum(1 for r in responses if r.status_code == 200)
    row = Row("40 steps x 10 ms work, c=1").with_latencies(summarize(latencies, wall))
    row.cpu_s_per_run = per_run(before, stack.cpu_seconds("api", "worker"), done)
    row.rss_mb = stack.rss_mb("api", "worker")
    work = 40 * one_call_ms
    overhead = ((row.p50 or 0) - work) / 40
    row.ratio, row.baseline = (row.p50 or 0) / work, f"40 direct calls ({work:.0f} ms)"
    row.target, row.met = "overhead <= 25 ms/step", overhead <= 25 and done == runs
    row.notes.append(
        f"wall p50 {row.p50:.0f} ms for 40 steps: {overhead:.1f} ms per step over the call itself "
        f"({one_call_ms:.1f} ms); {done}/{runs} completed"
    )
    await drain(db, [workflow_id])
    return [report(row)]


async def interpreter(stack: BenchStack, quick: bool) -> tuple[list[Row], dict[int, dict[str, float]]]:
    """bench.engine's comparison on the stack's servers (its own worker in this process, queue `bench`)."""
    settings = Settings(
        database_url=await fresh_database(stack.database_url),
        redis_url=stack.redis_url,
        temporal_address=stack.temporal_address,
        temporal_task_queue="bench",
        worker_metrics_port=0,
        outbound_allow=["127.0.0.1"],  # the local HTTP server the steps call
        _env_file=None,
    )
    contenders = ("interpreter (BatonRun)", "hand-written, same records")
    results = await run_benchmark(settings, 100 if quick else 300, contenders)
    rows = []
    handwritten: dict[int, dict[str, float]] = {}
    for concurrency in (1, 50):
        ours, theirs = results[(contenders[0], concurrency)], results[(contenders[1], concurrency)]
        handwritten[concurrency] = theirs
        row = Row(f"interpreter vs hand-written c={concurrency}").with_latencies(ours)
        row.rss_mb = psutil.Process().memory_info().rss / 2**20
        latency, throughput = ours["p50_ms"] / theirs["p50_ms"], ours["runs_per_s"] / theirs["runs_per_s"]
        row.ratio, row.baseline = latency, f"latency (throughput x{throughput:.2f})"
        row.target = "<= 1.15x latency, >= 0.85x throughput"
        row.met = latency <= 1.15 and throughput >= 0.85
        row.notes.append(
            f"hand-written: {theirs['runs_per_s']:.1f} runs/s, p50 {theirs['p50_ms']:.1f} ms; "
            "RSS is this bench process (client + both workers)"
        )
        rows.append(report(row))
    return rows, handwritten


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def waiting(stack: BenchStack, api: Api, db: asyncpg.Connection, total: int) -> list[Row]:
    """`total` runs parked at once, half on a delay (until a common time), half on an approval."""
    delay_steps: list[dict[str, Any]] = [
        {"id": "wait", "type": "delay", "until": "{{ trigger.body.until }}"},
        {"id": "after", "type": "set", "values": {"woke": True}},
    ]
    approval_steps: list[dict[str, Any]] = [
        {"id": "ok", "type": "approval", "message": "bench", "timeoutSeconds": 86400},
        {"id": "after", "type": "set", "values": {"approved": "{{ steps.ok.output.approved }}"}},
    ]
    async_trigger = {"methods": ["POST"], "mode": "async"}
    delayed_id, delayed_token = await api.publish("Bench delays", async_trigger, delay_steps)
    approved_id, approved_token = await api.publish("Bench approvals", async_trigger, approval_steps)
    workflows = [delayed_id, approved_id]
    # Everything must be parked before the delays end: ingest at >= 50/s plus a margin.
    wake = datetime.now(UTC) + timedelta(seconds=60 + total / 50)
    rss_start = stack.rss_mb("worker")
    cpu_start = stack.cpu_seconds("worker")

    async def call(n: int) -> RawResponse:
        token = delayed_token if n % 2 else approved_token
        return await api.load.post(f"/hooks/{token}", {"until": wake.isoformat()})

    print(f"    parking {total} runs (delays end at {wake:%H:%M:%S} UTC) ...", flush=True)
    began = time.perf_counter()
    _, responses, wall = await fire(call, 50, total)
    refused = sum(1 for r in responses if r.status_code != 202)
    print(f"    {total - refused} accepted in {wall:.0f} s; waiting for all to be parked ...", flush=True)
    approvals = [
        r.json()["executionId"] for n, r in enumerate(responses) if r.status_code == 202 and n % 2 == 0
    ]
    # Parked: RUNNING, and the worker's CPU back to near zero.
    while True:
        running = await db.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) AND status = 'RUNNING'",
            workflows,
        )
        cpu_before = stack.cpu_seconds("worker")
        await asyncio.sleep(2)
        busy = (stack.cpu_seconds("worker") - cpu_before) / 2
        if running >= total - refused and busy < 0.05:
            break
        if datetime.now(UTC) >= wake:
            break
    parked_after = time.perf_counter() - began
    rss_parked = stack.rss_mb("worker")
    cpu_before = stack.cpu_seconds("worker")
    await asyncio.sleep(10)
    cpu_waiting = (stack.cpu_seconds("worker") - cpu_before) / 10 * 100
    rss_parked = max(rss_parked, stack.rss_mb("worker"))
    early = await db.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) AND status = 'SUCCESS'",
        workflows,
    )
    print(f"    releasing {len(approvals)} approvals; the delays end by themselves ...", flush=True)
    released = time.perf_counter()

    async def approve(n: int) -> httpx.Response:
        path = f"{api.base}/executions/{approvals[n]}/steps/ok/decision"
        keyed = {**api.headers, "Idempotency-Key": f"bench-{approvals[n]}"}  # a resend is the same decision
        for _ in range(20):
            try:
                response = await api.client.post(path, headers=keyed, json={"approved": True})
            except httpx.TransportError:  # a keep-alive connection the server closed while idle
                await asyncio.sleep(0.1)
                continue
            if response.status_code not in (409, 503):  # 503: no worker took it in time; safe to resend
                return response
            await asyncio.sleep(0.5)
        return response

    _, decisions, _ = await fire(approve, 50, len(approvals))
    refused_decisions = [d for d in decisions if d.status_code >= 400]
    # one line per kind of refusal (the execution ids in the texts made every one unique)
    reasons = Counter(
        UUID_TEXT.sub("{id}", f"{d.status_code} {d.json().get('detail', '')[:240]}")
        for d in refused_decisions
    )
    for reason, count in reasons.most_common(3):  # what refused them, for whoever profiles this next
        print(f"    {count} decisions refused: {reason}", flush=True)
    await drain(db, workflows, timeout=600 + total / 20)
    finished = time.perf_counter() - released
    succeeded = await db.fetchval(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = ANY($1) AND status = 'SUCCESS'",
        workflows,
    )
    row = Row(f"{total} runs waiting at once")
    row.rss_mb = rss_parked
    row.cpu_s_per_run = (stack.cpu_seconds("worker") - cpu_start) / total
    row.runs_per_s = succeeded / finished
    row.ratio, row.baseline = rss_parked / rss_start, f"worker RSS before ({rss_start:.0f} MB)"
    row.target = "worker RSS <= 500 MB, all complete"
    row.met = rss_parked <= 500 and succeeded == total
    row.notes.append(
        f"worker {rss_parked:.0f} MB and {cpu_waiting:.1f}% CPU while {total - refused} runs wait "
        f"(parked {parked_after:.0f} s after the first call); {early} finished before release; "
        f"{succeeded}/{total} SUCCESS {finished:.0f} s after release (runs/s = completions after release); "
        f"{refused} webhook calls and {len(refused_decisions)} decisions refused"
    )
    return [report(row)]


async def api_reads(
    stack: BenchStack, api: Api, db: asyncpg.Connection, total: int, partition: bool = True
) -> list[Row]:
    """List and get endpoints over `total` executions (5 steps each) in PostgreSQL, c=1; then the same on
    the tables moved to monthly partitions (`baton partition`, under write load), and retention by months."""
    workflow_ids = []
    for n in range(10):
        workflow_id, _ = await api.publish(f"Bench reads {n}", {"methods": ["POST"], "mode": "async"}, [])
        workflow_ids.append(workflow_id)
    batch = 50_000
    began = time.perf_counter()
    print(f"    writing {total:,} executions and {5 * total:,} step executions ...", flush=True)
    for first in range(1, total + 1, batch):
        last = min(first + batch - 1, total)
        await db.execute(
            """
            WITH e AS (
                INSERT INTO workflow_executions
                    (id, workflow_id, status, trigger_data, context, result, started_at, completed_at,
                     duration, created_at)
                SELECT gen_random_uuid()::text, ($1::text[])[1 + i % 10], 'SUCCESS', '{"order": 1}',
                       '{"version": 1, "triggerType": "WEBHOOK"}', '{"ok": true}', t, t + interval '120 ms',
                       120, t
                FROM (SELECT i, now() - make_interval(secs => i * 30.0) AS t
                      FROM generate_series($2::int, $3::int) AS i) AS s
                RETURNING id, started_at
            )
            INSERT INTO step_executions
                (execution_id, step_id, step_type, status, input, output, started_at, completed_at, duration,
                 created_at)
            SELECT e.id, 'step_' || k, 'action', 'SUCCESS', '{"url": "http://example.invalid"}',
                   '{"status": 200}', e.started_at + make_interval(secs => k * 0.02),
                   e.started_at + make_interval(secs => k * 0.02 + 0.01), 10,
                   e.started_at + make_interval(secs => k * 0.02)
            FROM e CROSS JOIN generate_series(1, 5) AS k
            """,
            workflow_ids,
            first,
            last,
        )
        elapsed = time.perf_counter() - began
        print(f"\r    {last:,}/{total:,} executions ({elapsed:.0f} s)", end="", flush=True)
    print(flush=True)
    await db.execute("VACUUM ANALYZE workflow_executions")
    await db.execute("VACUUM ANALYZE step_executions")
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM workflow_executions) AS e, (SELECT count(*) FROM step_executions) AS s"
    )

    async def cursor_at(offset: int, workflow_id: str | None) -> tuple[str, tuple[datetime, str]]:
        row = await db.fetchrow(
            "SELECT created_at, id FROM workflow_executions WHERE workflow_id = ANY($1) "
            "ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            [workflow_id] if workflow_id else workflow_ids,
            offset,
        )
        return encode_cursor(row["created_at"], row["id"]), (row["created_at"], row["id"])

    one = workflow_ids[3]
    deep_ws, deep_ws_position = await cursor_at(total // 2, None)
    deep_wf, deep_wf_position = await cursor_at(total // 20, one)
    sample = await db.fetchval(
        "SELECT id FROM workflow_executions WHERE workflow_id = $1 "
        "ORDER BY created_at DESC OFFSET $2 LIMIT 1",
        one,
        total // 30,
    )
    cases: list[tuple[str, str, dict[str, str], Any]] = [
        (
            "workspace executions, page 1",
            "/executions",
            {"limit": "20"},
            list_query(api.workspace_id, limit=20),
        ),
        (
            "workspace executions, deep cursor",
            "/executions",
            {"limit": "20", "cursor": deep_ws},
            list_query(api.workspace_id, limit=20, cursor=deep_ws_position),
        ),
        (
            "workflow executions, page 1",
            "/executions",
            {"limit": "20", "workflowId": one},
            list_query(api.workspace_id, limit=20, workflow_id=one),
        ),
        (
            "workflow executions, deep cursor",
            "/executions",
            {"limit": "20", "workflowId": one, "cursor": deep_wf},
            list_query(api.workspace_id, limit=20, workflow_id=one, cursor=deep_wf_position),
        ),
        ("one execution with its steps", f"/executions/{sample}", {}, None),
    ]

    async def reads(prefix: str) -> list[Row]:
        rows = []
        for label, path, params, query in cases:

            async def call(_: int, path: str = path, params: dict[str, str] = params) -> httpx.Response:
                return await api.client.get(api.base + path, headers=api.headers, params=params)

            await fire(call, 1, 20)
            before = stack.cpu_seconds("api")
            latencies, responses, wall = await fire(call, 1, 300)
            bad = [r for r in responses if r.status_code != 200]
            row = Row(f"{prefix}{label}").with_latencies(summarize(latencies, wall))
            row.cpu_s_per_run = per_run(before, stack.cpu_seconds("api"), len(responses))
            row.rss_mb = stack.rss_mb("api")
            plans = await explain(db, query, sample, api.workspace_id)
            sql_ms = sum(ms for _, ms in plans)
            row.ratio, row.baseline = (row.p50 or 0) / max(sql_ms, 0.001), f"SQL alone ({sql_ms:.2f} ms)"
            row.target, row.met = "p99 <= 30 ms", (row.p99 or 0) <= 30 and not bad
            for indexes, ms in plans:
                row.notes.append(
                    f"EXPLAIN: {ms:.2f} ms, indexes used: {', '.join(indexes) or 'NONE (seq scan)'}"
                )
            if bad:
                row.notes.append(f"{len(bad)} answers not 200: {bad[0].status_code} {bad[0].text[:200]}")
            rows.append(report(row))
        return rows

    rows = await reads("read: ")
    rows[0].notes.insert(
        0,
        f"data: {counts['e']:,} executions, {counts['s']:,} step executions, written in "
        f"{time.perf_counter() - began:.0f} s",
    )
    print(f"    {rows[0].notes[0]}", flush=True)
    if partition:
        rows += await partitioned(stack, db, workflow_ids[0])
        rows += await reads("read, partitioned: ")
        rows.append(await drop_months(stack, db))
    return rows


async def partitioned(stack: BenchStack, db: asyncpg.Connection, workflow_id: str) -> list[Row]:
    """`baton partition` on the data set while the API's PENDING insert runs in a loop beside it: how long the
    move takes and the longest a write waited."""
    writes: list[float] = []
    done = asyncio.Event()

    async def write() -> None:
        writer = await asyncpg.connect(to_libpq_url(stack.database_url))
        try:
            while not done.is_set():
                began = time.perf_counter()
                await writer.execute(INSERT_PENDING, str(uuid.uuid4()), workflow_id, "{}", "{}", 0)
                writes.append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(0.005)
        finally:
            await writer.close()

    writing = asyncio.create_task(write())
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton",
        "partition",
        env={**dev_env(), "DATABASE_URL": stack.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    async for line in process.stdout:
        print(f"    baton partition: {line.decode().rstrip()}", flush=True)
    code = await process.wait()
    wall = time.perf_counter() - began
    done.set()
    await writing
    row = Row("partition 1M executions (live)", runs_per_s=len(writes) / wall)
    figures = summarize(writes, wall)
    row.p50, row.p95, row.p99 = figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]
    row.baseline = f"{wall:.0f} s to move; longest write {max(writes, default=0):.0f} ms"
    row.target, row.met = "writes go on (no error)", code == 0
    row.notes.append(
        f"{len(writes):,} PENDING inserts made during the move (runs/s column); their latency: p columns"
    )
    await db.execute("VACUUM ANALYZE workflow_executions")
    await db.execute("VACUUM ANALYZE step_executions")
    return [report(row)]


async def drop_months(stack: BenchStack, db: asyncpg.Connection) -> Row:
    """Retention on the partitioned data: every month past its time goes as a DROP TABLE, beside the rate
    of row-by-row deletes (what retention does without partitions), measured on 20,000 runs first."""
    engine = create_async_engine(to_asyncpg_url(stack.database_url))
    try:
        oldest = await db.fetchval(
            "SELECT created_at FROM workflow_executions ORDER BY created_at OFFSET 20000 LIMIT 1"
        )
        await db.execute("UPDATE workflow_executions SET status = 'SUCCESS' WHERE status = 'PENDING'")
        began = time.perf_counter()
        deleted = await delete_in_batches(
            engine,
            "workflow_executions",
            "id",
            "SELECT id FROM workflow_executions WHERE created_at < :before",
            {"before": oldest},
            batch=5000,
            dry_run=False,
        )
        per_row = (time.perf_counter() - began) / max(deleted, 1)
        rows = await db.fetchval("SELECT count(*) FROM workflow_executions")
        began = time.perf_counter()
        far = datetime.now(UTC) + timedelta(days=3650)
        dropped = await Partitions(engine).drop_expired(far, datetime(1970, 1, 1, tzinfo=UTC))
        took = time.perf_counter() - began
    finally:
        await engine.dispose()
    runs = sum(d.rows for d in dropped if d.partition.table == "workflow_executions")
    steps = sum(d.rows for d in dropped if d.partition.table == "step_executions")
    row = Row("retention: drop months", runs_per_s=runs / took if took else None)
    row.baseline = f"{took * 1000:.0f} ms; row deletes: {per_row * rows:.0f} s for the same"
    row.ratio = took / max(per_row * rows, 0.001)
    row.target, row.met = "drops instead of deletes", runs == rows
    row.notes.append(
        f"{len(dropped)} partitions dropped: {runs:,} executions and {steps:,} step executions; row deletes "
        f"measured at {deleted / max(per_row * deleted, 0.001):,.0f} executions/s (with their steps) on the "
        f"oldest {deleted:,}"
    )
    return report(row)


INDEX_USE = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)")


async def explain(
    db: asyncpg.Connection, query: Any, execution_id: str, workspace_id: str
) -> list[tuple[list[str], float]]:
    """(indexes used, execution ms) of each statement behind an endpoint, by EXPLAIN ANALYZE."""
    if query is not None:
        compiled = query.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        statements = [(str(compiled), [compiled.params[name] for name in compiled.positiontup or []])]
    else:  # core.execution_reads.get and .steps
        statements = [
            (
                "SELECT e.* FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id "
                "WHERE e.id = $1 AND w.workspace_id = $2",
                [execution_id, workspace_id],
            ),
            (
                "SELECT * FROM step_executions WHERE execution_id = $1 ORDER BY started_at, created_at",
                [execution_id],
            ),
        ]
    plans = []
    for sql, params in statements:
        lines = [r[0] for r in await db.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)]
        text = "\n".join(lines)
        indexes = sorted(set(INDEX_USE.findall(text)))
        match = re.search(r"Execution Time: ([\d.]+) ms", text)
        plans.append((indexes, float(match.group(1)) if match else 0.0))
    return plans


# ---------------------------------------------------------------------------------------------- main


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
        "--single-process", action="store_true", help="baton dev --single-process (api + worker in one)"
    )
    parser.add_argument("--write", type=Path, help="also write the results as Markdown (BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    options = parser.parse_args()
    chosen = options.only or list(SCENARIOS)
    executions = options.executions or (100_000 if options.quick else 1_000_000)
    parked = options.waiting or (1_000 if options.quick else 10_000)
    print(f"Baton benchmark suite: {', '.join(chosen)}\n{machine()}", flush=True)
    began = time.monotonic()
    with dev_stack(single_process=options.single_process) as stack:
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
