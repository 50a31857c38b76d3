"""A run's start (its row RUNNING, "Execution started") is written by the run's first write of rows, not by
a local activity of its own (core.contract.FIRST_WRITE_ENGINE): said once however many writes carry it,
shown before the run waits, and one history event fewer per run."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from core.contract import run_workflow_id
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio


async def _messages(studio: Studio, execution_id: str) -> list[str]:
    assert studio.engine.logs is not None
    await studio.engine.logs.flush()
    entries = await studio.client.get(f"{studio.base}/executions/{execution_id}/logs", headers=studio.headers)
    return [entry["message"] for entry in entries.json()["items"]]


async def test_a_start_carried_by_several_attempts_is_said_once_and_costs_no_activity_of_its_own(
    studio: Studio, http_server: ScriptedServer
) -> None:
    # the first attempt fails (its row, with the start, says it retries), the second writes it again
    url = http_server.script("/flaky", Reply(503, "busy"), Reply(200, {"ok": True}))
    workflow = await studio.publish(
        [
            {
                "id": "call",
                "type": "action",
                "action": "http.request",
                "input": {"url": url},
                "retry": {"maxAttempts": 3, "initialIntervalSeconds": 0.2},
            },
            {"id": "done", "type": "set", "values": {"ok": True}},
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["startedAt"] is not None
    assert execution["steps"]["call"]["retryCount"] == 1
    messages = await _messages(studio, execution["id"])
    assert messages.count("Execution started") == 1
    assert messages[0] == "Execution started"
    assert messages[-1] == "Execution finished: SUCCESS"

    handle = studio.engine.client.get_workflow_handle(run_workflow_id(execution["id"]))
    markers = [
        event
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert len(markers) == 2  # the action (both attempts in one marker) and the finish: no start of its own


async def test_a_run_that_waits_first_shows_running_from_before_its_wait(studio: Studio) -> None:
    workflow = await studio.publish([{"id": "nap", "type": "delay", "seconds": 60}])
    execution_id = await studio.start(workflow)
    waiting = await studio.until(execution_id, lambda e: e["status"] == "RUNNING" and "nap" in e["steps"])
    assert waiting is not None, "the run never showed RUNNING while it waits"
    assert waiting["startedAt"] is not None
    assert (await _messages(studio, execution_id))[:1] == ["Execution started"]
    cancelled = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/cancel", headers=studio.headers
    )
    assert cancelled.status_code in (200, 202), cancelled.text
    ended = await studio.until(execution_id, lambda e: e["status"] == "CANCELLED")
    assert ended is not None
    assert (await _messages(studio, execution_id)).count("Execution started") == 1


async def test_a_run_of_set_steps_only_is_started_by_its_finish(studio: Studio) -> None:
    workflow = await studio.publish([{"id": "a", "type": "set", "values": {"x": 1}}])
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["startedAt"] is not None
    assert execution["duration"] is not None
    messages = await _messages(studio, execution["id"])
    assert (messages[0], messages[-1], messages.count("Execution started")) == (
        "Execution started",
        "Execution finished: SUCCESS",
        1,
    )
