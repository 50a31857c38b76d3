"""Pause a run, fix, continue, on the real stack: a run paused parks before its next step (and stays parked
across a worker restart) until unpaused; a step that fails under `onError: "pause"` parks its run for an
operator, who tries it again in the same run with an edited input, or gives up (FAILED)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Restartable, Studio


def waiting_for(what: str, step_id: str) -> Any:
    def check(execution: dict[str, Any]) -> bool:
        steps = (execution["live"] or {}).get("steps", [])
        return any(s["stepId"] == step_id and s.get("for") == what for s in steps)

    return check


def ended(execution: dict[str, Any]) -> bool:
    return execution["status"] not in ("PENDING", "RUNNING")


async def test_a_paused_run_parks_before_its_next_step_across_a_worker_restart_until_unpaused(
    restartable: Restartable,
) -> None:
    steps: list[dict[str, Any]] = [
        {"id": "nap", "type": "delay", "seconds": 1},
        {"id": "after", "type": "set", "values": {"done": True}},
    ]
    client, headers, base = restartable.client, restartable.headers, restartable.base
    async with restartable.worker() as first:
        studio = restartable.studio(first)
        workflow_id = await studio.publish(steps)
        execution_id = await studio.start(workflow_id)
        path = f"{base}/executions/{execution_id}"
        paused = await client.post(f"{path}/pause", headers=headers, json={"reason": "CRM migration"})
        assert paused.status_code == 202, paused.text
        parked = await studio.until(execution_id, waiting_for("pause", "after"))
        assert parked is not None, "the run did not park before its next step"
        step = next(s for s in parked["live"]["steps"] if s["stepId"] == "after")
        assert step["reason"] == "CRM migration"
        assert parked["live"]["state"] == "waiting"
    await asyncio.sleep(1)  # no worker: it stays parked
    async with restartable.worker() as second:
        studio = restartable.studio(second)
        await asyncio.sleep(1.5)
        still = await studio.execution(execution_id)
        assert still["status"] == "RUNNING"
        assert waiting_for("pause", "after")(still), still["live"]
        unpaused = await client.post(f"{path}/unpause", headers=headers, json={})
        assert unpaused.status_code == 202, unpaused.text
        done = await studio.until(execution_id, ended)
        assert done is not None
        assert done["status"] == "SUCCESS"
        assert done["steps"]["after"]["output"] == {"done": True}
    again = await client.post(f"{path}/pause", headers=headers, json={})
    assert again.status_code == 409, again.text


async def test_a_failed_step_parks_for_a_fix_and_is_tried_again_with_an_edited_input(
    studio: Studio, http_server: ScriptedServer
) -> None:
    broken = http_server.script("/v1/contacts", Reply(500, {"error": "gone"}))
    fixed = http_server.script("/v2/contacts", Reply(200, {"id": "c-42"}))
    workflow_id = await studio.publish(
        [
            {"id": "push", "type": "action", "action": "http.request",
             "input": {"url": broken, "method": "POST"}, "retry": {"maxAttempts": 1}, "onError": "pause"},
            {"id": "after", "type": "set", "values": {"contact": "{{ steps.push.output.body.id }}"}},
        ]
    )  # fmt: skip
    execution_id = await studio.start(workflow_id)
    parked = await studio.until(execution_id, waiting_for("fix", "push"))
    assert parked is not None, "the failed step did not park its run"
    step = next(s for s in parked["live"]["steps"] if s["stepId"] == "push")
    assert "500" in step["lastError"], step
    assert parked["steps"]["push"]["input"]["url"] == broken  # the input it failed with, to edit

    unpaused = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/unpause",
        headers=studio.headers,
        json={"stepInput": {"url": fixed, "method": "POST"}},
    )
    assert unpaused.status_code == 202, unpaused.text
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "SUCCESS", done
    assert done["steps"]["after"]["output"] == {"contact": "c-42"}
    assert len(http_server.hits("/v1/contacts")) == 1
    assert len(http_server.hits("/v2/contacts")) == 1


async def test_giving_up_on_a_parked_step_fails_the_run(studio: Studio, http_server: ScriptedServer) -> None:
    broken = http_server.script("/down", Reply(503, {"error": "down"}))
    workflow_id = await studio.publish(
        [{"id": "push", "type": "action", "action": "http.request", "input": {"url": broken},
          "retry": {"maxAttempts": 1}, "onError": "pause"}]
    )  # fmt: skip
    execution_id = await studio.start(workflow_id)
    assert await studio.until(execution_id, waiting_for("fix", "push")) is not None
    gave_up = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/unpause", headers=studio.headers, json={"giveUp": True}
    )
    assert gave_up.status_code == 202, gave_up.text
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "FAILED"
    assert "503" in (done["error"] or "")
    assert done["steps"]["push"]["status"] == "FAILED"


async def test_a_parked_step_goes_on_on_the_latest_version_in_the_same_run(
    studio: Studio, http_server: ScriptedServer
) -> None:
    broken = http_server.script("/old", Reply(500, {"error": "moved"}))
    fixed = http_server.script("/new", Reply(200, {"id": "c-7"}))
    prep = http_server.script("/prep", Reply(200, {"ok": True}))

    def steps(url: str) -> list[dict[str, Any]]:
        return [
            {"id": "prep", "type": "action", "action": "http.request", "input": {"url": prep}},
            {"id": "push", "type": "action", "action": "http.request", "input": {"url": url},
             "retry": {"maxAttempts": 1}, "onError": "pause"},
            {"id": "after", "type": "set", "values": {"contact": "{{ steps.push.output.body.id }}"}},
        ]  # fmt: skip

    workflow_id = await studio.publish(steps(broken))
    execution_id = await studio.start(workflow_id)
    assert await studio.until(execution_id, waiting_for("fix", "push")) is not None
    # the fix is published as version 2, then the parked run goes on on it
    edited = await studio.client.patch(
        f"{studio.base}/workflows/{workflow_id}", headers=studio.headers, json={"steps": steps(fixed)}
    )
    assert edited.status_code == 200, edited.text
    published = await studio.client.post(
        f"{studio.base}/workflows/{workflow_id}/publish", headers=studio.headers, json={}
    )
    assert published.status_code == 201, published.text
    unpaused = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/unpause",
        headers=studio.headers,
        json={"latestVersion": True},
    )
    assert unpaused.status_code == 202, unpaused.text
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "SUCCESS", done
    assert done["steps"]["after"]["output"] == {"contact": "c-7"}
    assert [len(http_server.hits(p)) for p in ("/prep", "/old", "/new")] == [1, 1, 1]  # prep not run again
