"""Records the replay guard's history of a run that waits out a connection's rate limit (the interpreter's
durable wait between attempts: core.outages / worker.steps.actions). Lives here for the studio fixture, a
connection with a rate limit made over the API; written to tests/worker/histories/paths/."""

from __future__ import annotations

from pathlib import Path

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from tests.worker.recording import recording

PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"


@recording
async def test_record_a_run_that_waits_out_a_rate_limit(studio: Studio, http_server: ScriptedServer) -> None:
    url = http_server.script("/limited", Reply(200, {"ok": True}))
    connection = await studio.connect(
        "http", {"type": "bearer", "token": "t"}, rate_limit={"limit": 1, "windowSeconds": 2}
    )
    steps = [
        {
            "id": "each",
            "type": "loop",
            "items": "{{ [1, 2, 3] }}",
            "concurrency": 3,
            "steps": [
                {
                    "id": "fetch",
                    "type": "action",
                    "action": "http.request",
                    "connectionId": connection,
                    "input": {"url": url, "query": {"n": "{{ item }}"}},
                    "retry": {"maxAttempts": 1},  # one attempt per activity: the interpreter waits instead
                }
            ],
        }
    ]
    workflow_id = await studio.publish(steps)
    handle = await studio.engine.start(steps, {}, workflow_id=workflow_id)
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    assert len(http_server.hits("/limited")) == 3
    history = await handle.fetch_history()
    text = history.to_json()
    assert "TIMER_STARTED" in text.upper() or "TimerStarted" in text, "the run never waited"
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "rate_limit_wait.json").write_text(text)
