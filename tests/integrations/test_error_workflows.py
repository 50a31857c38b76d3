"""Error workflows on the real stack: a run that fails starts its workflow's error workflow (or the
workspace's) once, with the failure's summary; the same failure again within the window is counted and
reported by the next alert; an error workflow that fails alerts no one; bad settings are refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from core.settings import Settings
from tests.integrations.conftest import Studio

FAILS = [
    {"id": "prepare", "type": "set", "values": {"order": "{{ trigger.order }}"}},
    {
        "id": "halt",
        "type": "action",
        "action": "transform.parse_json",
        "input": {"text": "{not json"},
        "retry": {"maxAttempts": 1},
    },
]
RECORDS = [{"id": "note", "type": "set", "values": {"failed": "{{ trigger.workflow.name }}"}}]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"alert_window_seconds": 2.0})


async def runs_of(studio: Studio, workflow_id: str) -> list[Any]:
    return list(
        await studio.db.fetch(
            "SELECT * FROM workflow_executions WHERE workflow_id = $1 ORDER BY created_at", workflow_id
        )
    )


async def until_runs(studio: Studio, workflow_id: str, count: int, timeout: float = 20) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await runs_of(studio, workflow_id)
        if len(rows) >= count:
            return rows
        assert asyncio.get_running_loop().time() < deadline, f"{count} runs expected, saw {len(rows)}"
        await asyncio.sleep(0.2)


async def test_a_failed_run_alerts_once_per_window_with_a_count(studio: Studio) -> None:
    alerts = await studio.publish(RECORDS)
    failing = await studio.publish(FAILS)
    set_it = await studio.client.patch(
        f"{studio.base}/workflows/{failing}", headers=studio.headers, json={"errorWorkflowId": alerts}
    )
    assert set_it.status_code == 200, set_it.text
    assert set_it.json()["errorWorkflowId"] == alerts

    first = await studio.run(failing, {"order": 42})
    assert first["status"] == "FAILED"
    (alert,) = await until_runs(studio, alerts, 1)
    summary = json.loads(alert["trigger_data"])
    assert summary["workflow"]["id"] == failing
    assert summary["execution"]["id"] == first["id"]
    assert summary["execution"]["status"] == "FAILED"
    assert summary["execution"]["url"].endswith(f"/executions/{first['id']}")
    assert summary["failedStep"]["id"] == "halt"
    assert summary["failedStep"]["error"]
    assert summary["error"]
    assert summary["count"] == 1
    assert json.loads(alert["context"])["alertOf"] == first["id"]
    done = await studio.until(str(alert["id"]), lambda e: e["status"] == "SUCCESS")
    assert done is not None

    # the same failure within the window: counted, not alerted
    again = await studio.run(failing, {"order": 43})
    assert again["status"] == "FAILED"
    await asyncio.sleep(1.0)
    assert len(await runs_of(studio, alerts)) == 1

    await asyncio.sleep(2.0)  # the window has passed: the next failure alerts, with the repeat counted
    third = await studio.run(failing, {"order": 44})
    rows = await until_runs(studio, alerts, 2)
    latest = json.loads(rows[-1]["trigger_data"])
    assert latest["execution"]["id"] == third["id"]
    assert latest["count"] == 2


async def test_the_workspace_default_alerts_and_a_failing_alert_alerts_no_one(studio: Studio) -> None:
    broken_alerts = await studio.publish([{"id": "oops", "type": "stop", "status": "FAILED", "message": "x"}])
    workspace_id = studio.base.rsplit("/", 1)[1]
    default = await studio.client.patch(
        f"/api/v1/workspaces/{workspace_id}", headers=studio.headers, json={"errorWorkflowId": broken_alerts}
    )
    assert default.status_code == 200, default.text
    assert default.json()["errorWorkflowId"] == broken_alerts
    failing = await studio.publish(FAILS)  # names none: the workspace's applies
    failed = await studio.run(failing, {"order": 1})
    assert failed["status"] == "FAILED"
    (alert,) = await until_runs(studio, broken_alerts, 1)
    ended = await studio.until(str(alert["id"]), lambda e: e["status"] == "FAILED")
    assert ended is not None
    await asyncio.sleep(1.5)
    assert len(await runs_of(studio, broken_alerts)) == 1  # its own failure started nothing


async def test_an_error_workflow_must_be_another_workflow_of_the_workspace(studio: Studio) -> None:
    workflow = await studio.publish(RECORDS)
    url = f"{studio.base}/workflows/{workflow}"
    itself = await studio.client.patch(url, headers=studio.headers, json={"errorWorkflowId": workflow})
    assert itself.status_code == 409
    assert itself.json()["path"] == "errorWorkflowId"
    unknown = await studio.client.patch(url, headers=studio.headers, json={"errorWorkflowId": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["path"] == "errorWorkflowId"
