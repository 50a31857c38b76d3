"""A run's resume URL end to end: `{{ execution.resumeUrl }}` sent to a third party (an echoing local
server) arrives there as a signed URL while the run's rows and outputs hold only its stand-in; the third
party's POST to it resumes the `wait` step with its body; the URL works once, a forged one is a 404, and a
call while the run waits for nothing leaves it unspent. Records the replay guard's history of the path
(tests/worker/histories/paths/resume_url.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.http_server import EchoServer
from tests.integrations.conftest import Studio, live_is
from tests.worker.recording import HISTORIES, recording


@pytest.fixture
def third_party() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def callback_steps(server: EchoServer) -> list[dict[str, Any]]:
    return [
        {
            "id": "ask",
            "type": "action",
            "action": "http.request",
            "input": {
                "method": "POST",
                "url": f"{server.base_url}/jobs",
                "json": {"callback": "{{ execution.resumeUrl }}"},
            },
        },
        {"id": "done", "type": "wait", "event": "job.done", "timeoutSeconds": 120},
        {"id": "after", "type": "set", "values": {"result": "{{ steps.done.output.data.result }}"}},
    ]


def sent_callback(server: EchoServer) -> str:
    (seen,) = server.hits("/jobs")
    url: str = json.loads(seen.body)["callback"]
    return url


async def started_and_waiting(studio: Studio, server: EchoServer) -> tuple[str, str]:
    execution_id = await studio.start(await studio.publish(callback_steps(server)))
    found = await studio.until(execution_id, lambda e: e["steps"].get("done", {}).get("state") is not None)
    assert found, "the wait step never began"
    return execution_id, urlsplit(sent_callback(server)).path


async def test_a_third_party_resumes_the_run_through_its_resume_url_once(
    studio: Studio, third_party: EchoServer
) -> None:
    execution_id, path = await started_and_waiting(studio, third_party)
    assert path.startswith("/api/v1/resume/")
    execution = await studio.execution(execution_id)
    kept = json.dumps(execution["steps"]["ask"])
    assert "resume-url." in kept  # what the run keeps: the stand-in, in the input and in the echo
    assert path not in kept

    called = await studio.client.post(path, json={"result": "ok"})
    assert called.status_code == 200, called.text
    assert called.json() == {"executionId": execution_id, "stepId": "done", "resumed": True}
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done
    assert done["steps"]["done"]["output"]["name"] == "job.done"
    assert done["steps"]["done"]["output"]["data"] == {"result": "ok"}
    assert done["steps"]["after"]["output"] == {"result": "ok"}

    again = await studio.client.post(path, json={"result": "twice"})
    assert again.status_code == 409, again.text


async def test_a_forged_or_damaged_resume_url_is_a_404(studio: Studio, third_party: EchoServer) -> None:
    _, path = await started_and_waiting(studio, third_party)
    token = path.rsplit("/", 1)[1]
    payload, _, signature = token.partition(".")
    for bad in (f"{payload}.{signature[:-2]}AA", f"{payload}x.{signature}", "nothing", f"{token}<b>"):
        answer = await studio.client.post(f"/api/v1/resume/{bad}", json={})
        assert answer.status_code == 404, (bad, answer.text)


async def test_a_call_while_the_run_waits_for_no_event_does_not_spend_the_url(
    studio: Studio, third_party: EchoServer
) -> None:
    steps = [
        *callback_steps(third_party)[:1],
        {"id": "hold", "type": "approval", "message": "later"},
        *callback_steps(third_party)[1:],
    ]
    execution_id = await studio.start(await studio.publish(steps))
    assert await studio.until(execution_id, live_is("waiting"))
    path = urlsplit(sent_callback(third_party)).path
    early = await studio.client.post(path, json={"result": "early"})
    assert early.status_code == 409, early.text
    decided = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/steps/hold/decision",
        headers=studio.headers,
        json={"approved": True},
    )
    assert decided.status_code == 200, decided.text
    assert await studio.until(execution_id, lambda e: e["steps"].get("done", {}).get("state") is not None)
    assert (await studio.client.post(path, json={"result": "late"})).status_code == 200
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done
    assert done["steps"]["after"]["output"] == {"result": "late"}


@recording
async def test_record_a_run_resumed_through_its_resume_url(studio: Studio, third_party: EchoServer) -> None:
    execution_id, path = await started_and_waiting(studio, third_party)
    assert (await studio.client.post(path, json={"result": 1})).status_code == 200
    assert await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    history = await studio.engine.client.get_workflow_handle(f"run-{execution_id}").fetch_history()
    (HISTORIES / "paths" / "resume_url.json").write_text(history.to_json())
