"""A service that answers an action with an error: its status, headers and the start of its body stay on
the failed step (the API, the log, the error's message), redacted and bounded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from integrations.failed_answers import BODY_EXCERPT_BYTES
from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from tests.worker.recording import recording

PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"
TOKEN = "tok-s3cr3t-0123456789"
POOL = {"error": "database connection pool exhausted"}


def call(url: str, connection: str | None = None, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "id": "save",
        "type": "action",
        "action": "http.request",
        "input": {"method": "POST", "url": url, "json": {"n": 1}},
        "retry": {"maxAttempts": 1},
        **extra,
    }
    if connection is not None:
        step["connectionId"] = connection
    return step


async def test_a_failing_services_answer_is_kept_on_the_step_in_the_api_and_the_log_with_secrets_redacted(
    studio: Studio, http_server: ScriptedServer
) -> None:
    # The service echoes the request's token back, as error pages that dump the request do.
    body = {**POOL, "request": {"authorization": f"Bearer {TOKEN}", "seen": f"token was {TOKEN}"}}
    url = http_server.script("/orders", Reply(500, body, {"X-Request-Id": "req-42"}))
    connection = await studio.connect("http", {"type": "bearer", "token": TOKEN})
    workflow = await studio.publish([call(url, connection)])

    execution = await studio.run(workflow)

    assert execution["status"] == "FAILED"
    assert f'POST {url} answered 500: {{"error": "database connection pool exhausted"' in execution["error"]
    step = execution["steps"]["save"]
    assert step["error"].startswith(f"POST {url} answered 500: ")
    answer = step["output"]["error"]["response"]
    assert answer["status"] == 500
    assert answer["headers"]["x-request-id"] == "req-42"
    assert answer["body"]["error"] == "database connection pool exhausted"
    assert answer["body"]["request"]["seen"] == "token was [redacted]"
    assert TOKEN not in json.dumps(execution)

    assert studio.engine.logs is not None
    await studio.engine.logs.flush()
    logs = await studio.client.get(
        f"{studio.base}/executions/{execution['id']}/logs", headers=studio.headers, params={"stepId": "save"}
    )
    failed = next(e for e in logs.json()["items"] if e["level"] == "error")
    assert "answered 500: " in failed["message"]
    assert "database connection pool exhausted" in failed["message"]
    assert failed["metadata"]["output"]["error"]["response"]["body"]["error"] == POOL["error"]
    assert TOKEN not in json.dumps(logs.json())


async def test_a_large_error_answer_is_cut_to_a_bounded_excerpt(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/big", Reply(503, "<html>" + "x" * 200_000 + "</html>"))
    handle = await engine_worker.start([call(url)])
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    row = (await engine_worker.step_rows(handle))["save"]
    answer = json.loads(row["output"])["error"]["response"]
    assert (answer["status"], answer["bodyTruncated"], answer["bodyBytes"]) == (503, True, 200_013)
    assert answer["body"].startswith("<html>xxx")
    assert len(answer["body"]) == BODY_EXCERPT_BYTES
    assert len(row["error"]) < 400
    assert row["error"].endswith("…")


async def test_a_failed_answer_is_seen_by_the_steps_of_an_on_error_branch(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/orders", Reply(422, {"error": "sku unknown"}))
    result = await engine_worker.run(
        [
            call(url, onError="continue"),
            {"id": "why", "type": "set", "values": {"said": "{{ steps.save.output.error.response.body }}"}},
        ]
    )
    assert result.result == {"said": {"error": "sku unknown"}}


@recording
async def test_record_a_run_whose_action_fails_with_the_services_answer(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/orders", Reply(500, POOL))
    handle = await engine_worker.start(
        [call(url, onError="continue"), {"id": "after", "type": "set", "values": {"x": 1}}]
    )
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    row = (await engine_worker.step_rows(handle))["save"]
    assert "response" in json.loads(row["output"])["error"], "the run took the old path"
    text = (await handle.fetch_history()).to_json()
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "failed_answer_on_step.json").write_text(text)
