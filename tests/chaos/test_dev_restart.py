"""A run waiting on an approval and runs in delays survive a full `baton dev` restart: Ctrl-C stops every
process (API, worker, embedded PostgreSQL, Redis and Temporal), the next `baton dev` finds them still
waiting, the approval is decided after the restart, the short delay ends on its own, and the long one
(two days) is still waiting on its timer, costing nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from tests.baton.test_devstack import DevProcess, Ports, dev, ports  # noqa: F401 (fixtures)
from tests.chaos.conftest import record

READY = "Press Ctrl-C to stop"
SHORT_DELAY_SECONDS = 25


def wait_for_status(
    client: httpx.Client, url: str, headers: dict[str, str], wanted: set[str], timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution: dict[str, Any] = client.get(url, headers=headers).json()
        if execution["status"] in wanted or time.monotonic() > deadline:
            return execution
        time.sleep(0.5)


async def test_waiting_runs_survive_a_full_baton_dev_restart(
    tmp_path: Path,
    ports: Ports,  # noqa: F811 (the fixture imported above)
    dev: list[DevProcess],  # noqa: F811
) -> None:
    data_dir = tmp_path / "data"
    first = DevProcess(data_dir, ports)
    dev.append(first)
    first.wait_for(READY)
    base_url = f"http://127.0.0.1:{ports.api}"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        account = {
            "email": "restart@example.com",
            "password": "survive the restart, amber kettle",
            "firstName": "R",
            "lastName": "S",
        }
        client.post("/api/v1/auth/register", json=account).raise_for_status()
        login = client.post(
            "/api/v1/auth/login", json={"email": account["email"], "password": account["password"]}
        )
        headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        workspace = client.post("/api/v1/workspaces", headers=headers, json={"name": "Restart"}).json()
        base = f"/api/v1/workspaces/{workspace['id']}"

        def started(name: str, steps: list[dict[str, Any]]) -> str:
            body = {"name": name, "triggerType": "MANUAL", "steps": steps}
            workflow = client.post(f"{base}/workflows", headers=headers, json=body).json()
            client.post(
                f"{base}/workflows/{workflow['id']}/publish", headers=headers, json={}
            ).raise_for_status()
            run = client.post(f"{base}/workflows/{workflow['id']}/run", headers=headers, json={"payload": {}})
            assert run.status_code == 202, run.text
            return str(run.json()["id"])

        approval = started(
            "Approve",
            [
                {"id": "ask", "type": "approval", "message": "Ship it?", "timeoutSeconds": 7 * 86400},
                {"id": "after", "type": "set", "values": {"approved": "{{ steps.ask.output.approved }}"}},
            ],
        )
        short = started(
            "Short delay",
            [
                {"id": "nap", "type": "delay", "seconds": SHORT_DELAY_SECONDS},
                {"id": "woke", "type": "set", "values": {"ok": True}},
            ],
        )
        long = started("Long delay", [{"id": "sleep", "type": "delay", "seconds": 2 * 86400}])
        for execution_id in (approval, short, long):
            assert (
                wait_for_status(client, f"{base}/executions/{execution_id}", headers, {"RUNNING"})["status"]
                == "RUNNING"
            )
        time.sleep(1)  # the runs are parked on their approval and timers

    stopped_at = time.monotonic()
    assert first.stop(signal.SIGINT) == 0, first.output()
    second = DevProcess(data_dir, ports)
    dev.append(second)
    second.wait_for(READY)
    restart_seconds = time.monotonic() - stopped_at

    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.post(
            "/api/v1/auth/login", json={"email": account["email"], "password": account["password"]}
        )
        headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        waiting = client.get(f"{base}/executions/{approval}", headers=headers).json()
        assert waiting["status"] == "RUNNING", ("the approval", waiting)
        napping = client.get(f"{base}/executions/{short}", headers=headers).json()
        # still waiting when baton dev came back, unless the restart itself outlasted the delay (a loaded
        # machine): then its timer fired while nothing ran, and the new worker finished it
        assert napping["status"] == "RUNNING" or (
            restart_seconds > SHORT_DELAY_SECONDS - 5 and napping["status"] == "SUCCESS"
        ), ("the short delay", round(restart_seconds, 1), napping)
        decided = client.post(
            f"{base}/executions/{approval}/steps/ask/decision", headers=headers, json={"approved": True}
        )
        assert decided.status_code == 200, decided.text
        approved = wait_for_status(client, f"{base}/executions/{approval}", headers, {"SUCCESS", "FAILED"})
        assert approved["status"] == "SUCCESS", approved
        woke = wait_for_status(client, f"{base}/executions/{short}", headers, {"SUCCESS", "FAILED"})
        assert woke["status"] == "SUCCESS", woke
        still = client.get(f"{base}/executions/{long}", headers=headers).json()
        assert still["status"] == "RUNNING", still

    temporal = await Client.connect(f"127.0.0.1:{ports.temporal}")
    description = await temporal.get_workflow_handle(f"run-{long}").describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    history = [event async for event in temporal.get_workflow_handle(f"run-{long}").fetch_history_events()]
    timers = [e for e in history if e.HasField("timer_started_event_attributes")]
    assert timers, "the long delay waits on a Temporal timer"
    assert timers[-1].timer_started_event_attributes.start_to_fire_timeout.seconds == 2 * 86400
    record(
        "baton dev stopped (Ctrl-C) and started again with an approval and two delays waiting",
        runs_waiting=3,
        approval_decided_after_restart=approved["status"],
        short_delay_after_restart=woke["status"],
        long_delay_still_waiting=still["status"] == "RUNNING",
        restart_seconds=round(restart_seconds, 1),
    )
    assert second.stop(signal.SIGINT) == 0, second.output()
