"""What the benchmark scenarios share: result rows and their report, the API client, CPU accounting."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.engine import summarize
from bench.stack import BenchStack

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
    taken: dict[str, float] = {}
    for name in names:
        if name == "worker" and stack.processes["worker"].pid == stack.processes["api"].pid:
            continue  # `baton serve` (the default): one process is both, counted once
        label = "api+worker" if name == "api" and "worker" in stack.processes and (
            stack.processes["worker"].pid == stack.processes["api"].pid) else name  # fmt: skip
        taken[label] = stack.cpu_seconds(name)
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


# ---------------------------------------------------------------- Temporal RPCs and history events per run

# Long polls wait for work rather than doing it: counted apart from the calls that do something.
POLLS = ("PollWorkflowTaskQueue", "PollActivityTaskQueue", "PollNexusTaskQueue")
_REQUESTS = re.compile(r"^service_requests\{([^}]*)\}\s+([0-9.eE+]+)$", re.M)
_OPERATION = re.compile(r'operation="([^"]+)"')


def temporal_metrics_url(stack: BenchStack) -> str | None:
    """The embedded dev server's Prometheus endpoint (it picks its own port): its listening ports, probed."""
    process = stack.processes.get("temporal")
    if process is None:
        return None
    try:
        ports = sorted({c.laddr.port for c in process.net_connections(kind="tcp") if c.status == "LISTEN"})
    except psutil.Error:
        return None
    for port in ports:
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            if "service_requests" in httpx.get(url, timeout=2).text:
                return url
        except httpx.HTTPError:
            continue
    return None


def rpc_snapshot(url: str | None) -> dict[str, float]:
    """The frontend's requests so far, per operation (`service_requests`, summed over its labels)."""
    if url is None:
        return {}
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return {}
    counts: dict[str, float] = {}
    for labels, value in _REQUESTS.findall(text):
        if 'service_name="frontend"' not in labels and "service_name=" in labels:
            continue  # history and matching count the same call again, inside the server
        operation = _OPERATION.search(labels)
        if operation:
            counts[operation.group(1)] = counts.get(operation.group(1), 0.0) + float(value)
    return counts


def rpc_split(before: dict[str, float], after: dict[str, float], runs: int) -> str:
    """Temporal RPCs per run, the polls apart: what each change to how a run uses Temporal removes."""
    if runs <= 0 or not after:
        return "Temporal RPCs per run: not measured (no metrics endpoint found)"
    per = {op: (after.get(op, 0.0) - before.get(op, 0.0)) / runs for op in after}
    work = {op: n for op, n in per.items() if n >= 0.005 and op not in POLLS}
    polls = sum(n for op, n in per.items() if op in POLLS)
    shares = ", ".join(f"{op} {n:.2f}" for op, n in sorted(work.items(), key=lambda kv: -kv[1]))
    return f"Temporal RPCs per run: {sum(work.values()):.1f} ({shares}); long polls {polls:.1f}"


async def history_split(stack: BenchStack, execution_id: str) -> str:
    """The history events of one run, by type: each is server CPU and database writes."""
    from core.contract import run_workflow_id

    client = await Client.connect(stack.temporal_address)
    events = [
        event
        async for event in client.get_workflow_handle(run_workflow_id(execution_id)).fetch_history_events()
    ]
    kinds: dict[str, int] = {}
    for event in events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        kinds[name] = kinds.get(name, 0) + 1
    shares = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    return f"history events per run: {len(events)} ({shares})"
