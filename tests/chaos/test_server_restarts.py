"""Baton's own servers restarted under load: Redis (SIGKILL), PostgreSQL (immediate shutdown, crash recovery
on start) and the Temporal dev server with its file database (SIGKILL), each while a worker runs 100
five-step runs and an API takes webhook calls.

Every run completes with exact records and counters, each step's effect reaches the service under one
idempotency key, and every webhook call retried with its Idempotency-Key until answered 2xx has exactly one
execution. While a server is down the API answers 503 with Retry-After (never a 500), and action steps wait
for it without spending their retries (core.outages). Each test also proves the outage met the load: calls
answered 503 or cut while the server was down, or (Temporal, whose client retries by itself) calls held
until it was back; a restart that fell between calls fails the test.

These tests run on servers of their own (the session's are shared with every other test).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from baton.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedTemporal, free_port
from baton.migrate import upgrade_to_head_async
from core.codec import data_converter
from core.contract import RunResult
from core.settings import Settings
from tests.api.test_webhooks import webhook_workflow
from tests.chaos.conftest import Process, record, run_records, worker_env
from tests.chaos.test_api_crashes import ready
from tests.conftest import TEST_OUTBOUND_ALLOW
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer

RUNS = 100
CALLS = 60
SENDERS = 5
OUTAGE_SECONDS = 4.0
DEADLINE_SECONDS = 240


@dataclass
class OwnServers:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    temporal: EmbeddedTemporal

    def restart(self, which: str) -> float:
        """Takes one server down the hard way, leaves it down OUTAGE_SECONDS, starts it again on the same
        data; returns how long it was unreachable."""
        server = getattr(self, which)
        assert server.server is not None
        began = time.monotonic()
        if which == "postgres":
            # SIGQUIT: PostgreSQL's immediate shutdown, no checkpoint: it starts with crash recovery
            server.server.process.send_signal(signal.SIGQUIT)
        else:
            server.server.process.kill()
        server.server.process.wait(30)
        time.sleep(OUTAGE_SECONDS)
        server.start()
        return time.monotonic() - began


@pytest.fixture(scope="module")
def own_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnServers]:
    root = tmp_path_factory.mktemp("restarted-servers")
    servers = OwnServers(
        EmbeddedPostgres(root / "postgres", free_port(), database="baton"),
        EmbeddedRedis(root / "redis", free_port()),
        EmbeddedTemporal(root / "temporal", free_port(), free_port()),
    )
    servers.postgres.start()
    servers.redis.start()
    servers.temporal.start()
    try:
        yield servers
    finally:
        for server in (servers.temporal, servers.redis, servers.postgres):
            server.stop()


@pytest.fixture
async def own_settings(own_servers: OwnServers) -> Settings:
    name = f"restarts_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(own_servers.postgres.url.rsplit("/", 1)[0] + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = own_servers.postgres.url.rsplit("/", 1)[0] + f"/{name}"
    await upgrade_to_head_async(url)
    return Settings(
        environment="test",
        database_url=url,
        redis_url=own_servers.redis.url,
        redis_key_prefix=f"restarts:{uuid.uuid4().hex[:8]}:",
        temporal_address=own_servers.temporal.address,
        outbound_allow=TEST_OUTBOUND_ALLOW.split(","),
        _env_file=None,
    )


async def result_of(handle: WorkflowHandle[object, RunResult]) -> RunResult:
    """The run's result, asking again while Temporal itself is the server being restarted."""
    while True:
        try:
            return await handle.result()
        except RPCError:
            await asyncio.sleep(0.5)


async def connect(url: str) -> asyncpg.Connection:
    for _ in range(100):
        try:
            return await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


def hook_steps(effect_url: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "notify",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": effect_url, "json": {"hook": "{{ trigger.body.n }}"}},
        },
        {"id": "done", "type": "set", "values": {"n": "{{ trigger.body.n }}"}},
    ]


@pytest.mark.parametrize("which", ["redis", "postgres", "temporal"])
async def test_a_server_restarted_under_load_loses_no_run_and_repeats_no_effect(
    which: str,
    own_servers: OwnServers,
    own_settings: Settings,
    http_server: ScriptedServer,
    processes: list[Process],
    tmp_path: Path,
) -> None:
    settings = own_settings
    database = settings.database_url
    effect = http_server.script("/effect", Reply(200, {"ok": True}))
    hook_effect = http_server.script("/hook-effect", Reply(200, {"ok": True}))
    steps = [
        {"id": "charge", "type": "action", "action": "http.request",
         "input": {"method": "POST", "url": effect, "json": {"step": 1, "order": "{{ trigger.order }}"}}},
        {"id": "pause1", "type": "delay", "seconds": 1},
        {"id": "ship", "type": "action", "action": "http.request",
         "input": {"method": "POST", "url": effect, "json": {"step": 2, "order": "{{ trigger.order }}"}}},
        {"id": "pause2", "type": "delay", "seconds": 1},
        {"id": "mail", "type": "action", "action": "http.request",
         "input": {"method": "POST", "url": effect, "json": {"step": 3, "order": "{{ trigger.order }}"}}},
    ]  # fmt: skip
    task_queue = f"restarts-{uuid.uuid4().hex[:8]}"
    env = worker_env(settings, task_queue)
    worker = Process(["worker"], env, tmp_path / "worker.log")
    port = free_port()
    api = Process(["api", "--port", str(port)], env, tmp_path / "api.log")
    processes.extend([worker, api])
    worker.start()
    api.start()

    db = await connect(database)
    workflow_id = await create_workflow(db, steps)
    client = await Client.connect(settings.temporal_address, data_converter=data_converter(settings))
    engine = Engine(client, db, task_queue)
    answers: dict[str, list[str]] = defaultdict(list)
    codes: Counter[int | str] = Counter()
    refused_at: list[float] = []  # when a call met the outage (503 or a cut connection)
    held: list[tuple[float, float]] = []  # calls answered after waiting 1 s or more (the client's retries)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        await ready(http)
        _, _, hooked, hook = await webhook_workflow(
            http, hook_steps(hook_effect), email="restarts@example.com"
        )
        token = hook["token"]
        handles = [await engine.start(steps, {"order": n}, workflow_id=workflow_id) for n in range(RUNS)]
        await db.close()
        calls = iter(range(CALLS))

        async def sender() -> None:
            for n in calls:
                key = f"call-{n}"
                for _ in range(600):  # what a well-behaved sender does: retry with the same key until 2xx
                    sent_at = time.monotonic()
                    try:
                        answer = await http.post(
                            f"/hooks/{token}", json={"n": n}, headers={"Idempotency-Key": key}
                        )
                    except httpx.TransportError:
                        codes["cut"] += 1
                        refused_at.append(time.monotonic())
                        await asyncio.sleep(0.2)
                        continue
                    codes[answer.status_code] += 1
                    if time.monotonic() - sent_at >= 1.0:
                        held.append((sent_at, time.monotonic()))
                    if answer.status_code == 202:
                        answers[key].append(answer.json()["executionId"])
                        break
                    assert answer.status_code == 503, answer.text  # never a 500
                    refused_at.append(time.monotonic())
                    assert answer.json()["error"] == "unavailable"
                    assert int(answer.headers["Retry-After"]) >= 1
                    await asyncio.sleep(0.2)
                await asyncio.sleep(0.4)  # spread the calls over the outage and after it

        began = time.monotonic()
        senders = [asyncio.create_task(sender()) for _ in range(SENDERS)]
        await asyncio.sleep(1.0)  # runs under way, webhook calls coming in
        killed_at = time.monotonic()
        down_for = await asyncio.to_thread(own_servers.restart, which)
        back_at = time.monotonic()
        results = await asyncio.wait_for(
            asyncio.gather(*(result_of(handle) for handle in handles), *senders), DEADLINE_SECONDS
        )
        took = time.monotonic() - began

    db = await connect(database)
    try:
        statuses = Counter(result.status for result in results[:RUNS] if isinstance(result, RunResult))
        step_rows, counters = await run_records(db, workflow_id)
        ids = {execution for found in answers.values() for execution in found}
        deadline = time.monotonic() + 120
        while True:  # the webhook runs finish on their own; wait for their final status
            hook_rows = {
                r["id"]: r["status"]
                for r in await db.fetch(
                    "SELECT id::text, status FROM workflow_executions WHERE workflow_id = $1", hooked
                )
            }
            if set(hook_rows.values()) <= {"SUCCESS"} or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await db.close()
    # calls refused while the server was down (the API notices within its own retries)
    during = [at for at in refused_at if killed_at <= at <= back_at + 30]
    # Temporal's client retries an unavailable server itself: a call in flight waits and is answered after
    held_through = [(sent, done) for sent, done in held if sent <= back_at and done >= killed_at]
    logged = sum(
        (tmp_path / log).read_text(errors="replace").count("is unreachable")
        for log in ("api.log", "worker.log")
    )
    keys = Counter(hit.headers.get("Idempotency-Key") for hit in http_server.hits("/effect"))
    hook_keys = Counter(hit.headers.get("Idempotency-Key") for hit in http_server.hits("/hook-effect"))
    record(
        f"{which} restarted ({down_for:.1f} s down) during 100 runs of 5 steps and {CALLS} webhook calls",
        runs_attempted=RUNS,
        runs_completed=statuses["SUCCESS"],
        runs_lost=RUNS - sum(statuses.values()),
        effects_expected=RUNS * 3 + CALLS,
        duplicated_effects=(len(keys) - RUNS * 3) + (len(hook_keys) - CALLS),
        redeliveries_same_key=sum(keys.values()) - len(keys) + sum(hook_keys.values()) - len(hook_keys),
        webhooks_acknowledged=len(answers),
        webhook_executions=len(hook_rows),
        answers=dict(codes),
        calls_refused_during_the_outage=len(during),
        calls_held_through_the_outage=len(held_through),
        outage_warnings_logged=logged,
        seconds=round(took, 1),
    )
    # the restart met the load: calls were refused while the server was down, not before or after it only
    assert during or held_through, f"no call met the outage ({dict(codes)}): the restart fell between calls"
    assert statuses == {"SUCCESS": RUNS}, statuses
    assert step_rows == {"SUCCESS": RUNS * len(steps)}
    assert counters == (RUNS, RUNS, 0)
    assert None not in keys
    assert len(keys) == RUNS * 3  # every step reached the service once per key
    assert len(answers) == CALLS
    assert all(len(set(found)) == 1 for found in answers.values())
    assert set(hook_rows) == ids  # one execution per acknowledged call, none other
    assert set(hook_rows.values()) == {"SUCCESS"}
    assert len(hook_keys) == CALLS
    assert 500 not in codes


async def test_runs_waiting_for_a_slot_a_quiet_time_or_an_operator_survive_a_temporal_restart(
    own_servers: OwnServers, own_settings: Settings, processes: list[Process], tmp_path: Path
) -> None:
    """While runs wait — two for a concurrency slot (limit 1), a debounced burst for its quiet time, a
    paused run for its unpause — the Temporal dev server is killed and started again: each goes on as if
    nothing happened (none lost, none run twice, the limit never exceeded)."""
    settings = own_settings
    task_queue = f"waits-{uuid.uuid4().hex[:8]}"
    env = worker_env(settings, task_queue)
    port = free_port()
    processes.extend([Process(["worker"], env, tmp_path / "worker.log"),
                      Process(["api", "--port", str(port)], env, tmp_path / "api.log")])  # fmt: skip
    for process in processes[-2:]:
        process.start()
    db = await connect(settings.database_url)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        await ready(http)
        note = [{"id": "note", "type": "set", "values": {"n": "{{ trigger.body.n }}"}}]
        base, headers, debounced, hook = await webhook_workflow(
            http, note, {"mode": "async", "debounce": {"seconds": 3}}, email="waits@example.com"
        )

        async def published(steps: list[dict[str, Any]], **fields: Any) -> str:
            body = {"name": f"w-{uuid.uuid4().hex[:6]}", "triggerType": "MANUAL", "steps": steps, **fields}
            created = await http.post(f"{base}/workflows", headers=headers, json=body)
            assert created.status_code == 201, created.text
            workflow_id = str(created.json()["id"])
            assert (await http.post(f"{base}/workflows/{workflow_id}/publish", headers=headers,
                                    json={})).status_code == 201  # fmt: skip
            return workflow_id

        async def start(workflow_id: str) -> str:
            started = await http.post(
                f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}}
            )
            assert started.status_code == 202, started.text
            return str(started.json()["id"])

        limited = await published([{"id": "nap", "type": "delay", "seconds": 3}], concurrency={"limit": 1})
        queued = [await start(limited) for _ in range(3)]
        pausable = await published(
            [
                {"id": "nap", "type": "delay", "seconds": 1},
                {"id": "after", "type": "set", "values": {"ok": 1}},
            ]
        )
        paused = await start(pausable)
        assert (
            await http.post(f"{base}/executions/{paused}/pause", headers=headers, json={})
        ).status_code == 202
        for n in range(3):
            assert (await http.post(f"/hooks/{hook['token']}", json={"n": n})).status_code == 202
        await asyncio.sleep(1.5)  # the first limited run naps, two wait; the burst is quiet; the pause holds

        own_servers.restart("temporal")

        async def answered(method: str, path: str, **kwargs: Any) -> httpx.Response:
            for _ in range(100):  # the API answers 503 until it has its Temporal client back
                response = await http.request(method, path, headers=headers, **kwargs)
                if response.status_code != 503:
                    return response
                await asyncio.sleep(0.3)
            raise AssertionError(f"{path} answered 503 for 30 s")

        assert (await answered("POST", f"{base}/executions/{paused}/unpause", json={})).status_code == 202
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = await db.fetch(
                "SELECT workflow_id, status FROM workflow_executions WHERE workflow_id = ANY($1)",
                [limited, pausable, debounced],
            )
            if len(rows) == 5 and all(row["status"] == "SUCCESS" for row in rows):
                break
            await asyncio.sleep(0.5)
        naps = await db.fetch(
            "SELECT execution_id, started_at, completed_at FROM step_executions "
            "WHERE execution_id = ANY($1) AND step_id = 'nap' ORDER BY started_at",
            queued,
        )
        burst = await db.fetch(
            "SELECT trigger_data FROM workflow_executions WHERE workflow_id = $1", debounced
        )
    await db.close()
    statuses = Counter((row["workflow_id"], row["status"]) for row in rows)
    assert statuses == {(limited, "SUCCESS"): 3, (pausable, "SUCCESS"): 1, (debounced, "SUCCESS"): 1}, (
        statuses
    )
    assert [row["execution_id"] for row in naps] == queued  # in arrival order
    assert all(
        a["completed_at"] <= b["started_at"] for a, b in zip(naps, naps[1:], strict=False)
    )  # one at once
    assert len(burst) == 1
    assert json.loads(burst[0]["trigger_data"])["debounce"]["events"] == 3
