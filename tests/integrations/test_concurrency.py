"""Concurrency limits on the real stack: a workflow with `concurrency: {limit, key}` runs at most `limit`
runs per key at once, the others wait in arrival order (PENDING, `live.slot` giving their place) and start
as slots free up; a cancelled waiting run leaves the queue, a holder terminated in Temporal frees its slot,
and a worker restart while runs wait loses none and runs none twice. A local service records the overlap
it sees (how many calls per key are in flight at once)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.client import Client

from core.contract import run_workflow_id
from tests.integrations.conftest import Restartable, Studio, eventually, live_is


class OverlapServer:
    """Holds each POST /work for `holdMs` and records, per `key` of its JSON body, the calls in flight at
    once (the most it saw) and who called, in the order the calls began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []  # (key, execution id), as the calls began
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                key = str(body["key"])
                with server.lock:
                    server.calls.append((key, str(body["execution"])))
                    server.in_flight[key] = server.in_flight.get(key, 0) + 1
                    server.most[key] = max(server.most.get(key, 0), server.in_flight[key])
                time.sleep(float(body.get("holdMs", 300)) / 1000)
                with server.lock:
                    server.in_flight[key] -= 1
                raw = b'{"ok": true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/work"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def callers(self, key: str) -> list[str]:
        with self.lock:
            return [execution for k, execution in self.calls if k == key]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def overlap() -> Iterator[OverlapServer]:
    server = OverlapServer()
    yield server
    server.close()


def call_step(url: str, hold_ms: int) -> dict[str, Any]:
    return {
        "id": "work",
        "type": "action",
        "action": "http.request",
        "input": {
            "method": "POST",
            "url": url,
            "json": {"key": "{{ trigger.customer }}", "execution": "{{ execution.id }}", "holdMs": hold_ms},
        },
    }


async def ended(studio: Studio, execution_id: str, timeout: float = 60) -> str:
    """The run's final status once it has one ("still open" when it had none in time)."""
    done = await studio.until(execution_id, lambda e: e["status"] not in ("PENDING", "RUNNING"), timeout)
    return "still open" if done is None else str(done["status"])


async def slot_rows(studio: Studio, column: str, value: str) -> int:
    return int(await studio.db.fetchval(f"SELECT count(*) FROM concurrency_slots WHERE {column} = $1", value))


async def publish_limited(studio: Studio, steps: list[dict[str, Any]], concurrency: dict[str, Any]) -> str:
    created = await studio.client.post(
        f"{studio.base}/workflows",
        headers=studio.headers,
        json={
            "name": f"limited-{uuid.uuid4().hex[:6]}",
            "triggerType": "MANUAL",
            "steps": steps,
            "concurrency": concurrency,
        },  # fmt: skip
    )
    assert created.status_code == 201, created.text
    assert created.json()["concurrency"] == {"key": None, **concurrency}
    workflow_id = str(created.json()["id"])
    published = await studio.client.post(
        f"{studio.base}/workflows/{workflow_id}/publish", headers=studio.headers, json={}
    )
    assert published.status_code == 201, published.text
    return workflow_id


async def test_at_most_limit_runs_per_key_in_arrival_order_the_others_wait_with_their_place(
    studio: Studio, overlap: OverlapServer
) -> None:
    workflow_id = await publish_limited(
        studio, [call_step(overlap.url, 800)], {"limit": 2, "key": "{{ trigger.customer }}"}
    )
    a_runs = [await studio.start(workflow_id, {"customer": "a"}) for _ in range(6)]
    b_runs = [await studio.start(workflow_id, {"customer": "b"}) for _ in range(2)]

    # the last of a's runs waits behind the two holders and three other waiting runs: place 4
    last = await studio.until(a_runs[-1], live_is("waiting"))
    assert last is not None, "the sixth run of key a never showed as waiting"
    assert last["status"] == "PENDING"
    assert last["live"]["slot"] == {"key": "a", "limit": 2, "place": 4}
    listed = await studio.client.get(
        f"{studio.base}/executions",
        headers=studio.headers,
        params={"workflowId": workflow_id, "state": "waiting", "limit": 100},
    )
    assert listed.status_code == 200, listed.text
    # a run listed as waiting may have taken its slot by the time its live state is read (a loaded machine)
    waiting = {
        e["id"]: e["live"]["slot"]["place"] for e in listed.json()["items"] if (e["live"] or {}).get("slot")
    }
    assert a_runs[-1] in waiting, waiting
    assert set(waiting) <= set(a_runs[2:]), waiting

    assert [await ended(studio, run) for run in a_runs + b_runs] == ["SUCCESS"] * 8
    assert overlap.most == {"a": 2, "b": 2}, overlap.most
    # arrival order: each later pair starts only after the pair before (the first two in either order)
    began = overlap.callers("a")
    assert [set(began[:2]), set(began[2:4]), set(began[4:])] == [
        set(a_runs[:2]),
        set(a_runs[2:4]),
        set(a_runs[4:]),
    ], began
    # b's runs never waited for a's: they began before a's last pair
    assert all(overlap.calls.index(("b", run)) < overlap.calls.index(("a", began[4])) for run in b_runs)
    assert (
        await studio.db.fetchval("SELECT count(*) FROM concurrency_slots WHERE workflow_id = $1", workflow_id)
        == 0
    )


async def test_a_cancelled_waiting_run_leaves_the_queue_and_a_terminated_holder_frees_its_slot(
    studio: Studio, temporal_client: Client
) -> None:
    approval = {"id": "hold", "type": "approval", "message": "hold the slot", "timeoutSeconds": 3600}
    workflow_id = await publish_limited(studio, [approval], {"limit": 1})
    holder = await studio.start(workflow_id)
    assert await studio.until(holder, live_is("waiting")) is not None
    second, third = await studio.start(workflow_id), await studio.start(workflow_id)
    shown = await studio.until(third, lambda e: ((e["live"] or {}).get("slot") or {}).get("place") == 2)
    assert shown is not None, "the third run did not show place 2"

    cancelled = await studio.client.post(f"{studio.base}/executions/{third}/cancel", headers=studio.headers)
    assert cancelled.status_code == 202, cancelled.text
    gone = await studio.until(third, lambda e: e["status"] == "CANCELLED")
    assert gone is not None, "a waiting run did not end CANCELLED when cancelled"

    async def left_the_queue() -> bool:  # released by the run's end, just after its row says so
        held = await studio.db.fetchval(
            "SELECT count(*) FROM concurrency_slots WHERE execution_id = $1", third
        )
        return bool(held == 0)

    assert await eventually(left_the_queue, timeout=10), "a cancelled waiting run kept its place"

    # terminated in Temporal, the holder never runs its end: the waiting run frees the slot when it asks
    await temporal_client.get_workflow_handle(run_workflow_id(holder)).terminate(reason="test")
    started = await studio.until(  # now parked on its own approval
        second, lambda e: e["status"] == "RUNNING" and live_is("waiting")(e), timeout=45
    )
    assert started is not None, "the slot of a terminated run stayed held"
    assert (started["status"], started["live"].get("slot")) == ("RUNNING", None)


async def test_runs_waiting_for_a_slot_survive_a_worker_restart_none_lost_none_twice(
    restartable: Restartable, overlap: OverlapServer
) -> None:
    steps = [{"id": "pause", "type": "delay", "seconds": 1}, call_step(overlap.url, 200)]
    async with restartable.worker() as first:
        studio = restartable.studio(first)
        workflow_id = await publish_limited(studio, steps, {"limit": 1, "key": "{{ trigger.customer }}"})
        runs = [await studio.start(workflow_id, {"customer": "c"}) for _ in range(4)]
        # the first holds the slot (in its delay), the others wait
        assert await studio.until(runs[-1], live_is("waiting")) is not None
    # the worker is down while the holder's timer fires and the others wait; a new one takes over
    await asyncio.sleep(2)
    async with restartable.worker() as second:
        studio = restartable.studio(second)
        for execution_id in runs:
            assert await ended(studio, execution_id, 90) == "SUCCESS"
    assert overlap.callers("c") == runs, "a run was lost, ran twice or out of its arrival order"
    assert overlap.most == {"c": 1}, overlap.most


async def test_an_invalid_concurrency_is_refused_naming_the_field(studio: Studio) -> None:
    for bad in ({"limit": 0}, {"limit": 2, "key": "{{ trigger."}, {"limit": 1, "extra": True}):
        created = await studio.client.post(
            f"{studio.base}/workflows",
            headers=studio.headers,
            json={"name": "bad", "triggerType": "MANUAL", "steps": [], "concurrency": bad},
        )
        assert created.status_code == 422, created.text
        assert "concurrency" in created.text
    workflow_id = await publish_limited(studio, [], {"limit": 3})
    cleared = await studio.client.patch(
        f"{studio.base}/workflows/{workflow_id}", headers=studio.headers, json={"concurrency": None}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["concurrency"] is None


async def test_runs_carry_their_workflows_priority_and_their_workspace_as_fairness_key(
    studio: Studio, temporal_client: Client
) -> None:
    created = await studio.client.post(
        f"{studio.base}/workflows",
        headers=studio.headers,
        json={
            "name": "urgent",
            "triggerType": "MANUAL",
            "priority": 1,
            "steps": [{"id": "s", "type": "set", "values": {"ok": True}}],
        },  # fmt: skip
    )
    assert created.status_code == 201, created.text
    assert created.json()["priority"] == 1
    workflow_id = created.json()["id"]
    assert (await studio.client.post(f"{studio.base}/workflows/{workflow_id}/publish", headers=studio.headers,
                                     json={})).status_code == 201  # fmt: skip
    run = await studio.run(workflow_id)
    assert run["status"] == "SUCCESS"
    described = await temporal_client.get_workflow_handle(run_workflow_id(run["id"])).describe()
    priority = described.raw_description.workflow_execution_info.priority
    workspace_id = studio.base.rsplit("/", 1)[-1]
    assert (priority.priority_key, priority.fairness_key) == (1, workspace_id)

    too_high = await studio.client.patch(
        f"{studio.base}/workflows/{workflow_id}", headers=studio.headers, json={"priority": 9}
    )
    assert too_high.status_code == 422, too_high.text
    assert "priority" in too_high.text
