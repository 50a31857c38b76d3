"""Determinism guard: recorded histories of representative runs (every step type) must replay on the
current interpreter. A change that would break runs in flight fails here; guard it with `workflow.patched`.

histories/before-local-records/ and before-local-actions/ hold runs recorded before those patches: they
keep proving that runs started by older workers still replay. Re-record the current set (only when a
change is meant to alter new runs, after guarding the old path with `workflow.patched`; move the old
files to a folder first):
    BATON_RECORD_HISTORIES=1 .venv/bin/pytest tests/worker/test_replay.py -k record
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer

from core.codec import data_converter
from core.execution import Decision
from core.settings import Settings
from tests.engine import Engine
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer
from worker.interpreter import BatonRun
from worker.main import workflow_runner

HISTORIES = Path(__file__).parent / "histories"


def _set(step_id: str, **values: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "set", "values": values}


async def test_recorded_histories_replay_on_the_current_interpreter(settings: Settings) -> None:
    files = sorted(HISTORIES.rglob("*.json"))
    assert len(files) >= 10, f"expected the recorded histories in {HISTORIES}"
    # histories recorded before payloads were sealed pass through the codec; later ones need its key
    replayer = Replayer(
        workflows=[BatonRun], workflow_runner=workflow_runner(), data_converter=data_converter(settings)
    )
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


@pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see this module's docstring)",
)
async def test_record_histories(engine_worker: Engine, http_server: ScriptedServer) -> None:
    HISTORIES.mkdir(exist_ok=True)
    http_server.script("/ok", Reply(200, {"ok": True}))
    http_server.script("/bad", Reply(400, {"error": "bad"}))
    ok, bad = http_server.base_url + "/ok", http_server.base_url + "/bad"
    child = await create_workflow(engine_worker.db, [_set("double", v="{{ trigger.n * 2 }}")])

    async def save(name: str, steps: list[dict[str, Any]], trigger: Any = None, **options: Any) -> Any:
        handle = await engine_worker.start(steps, trigger or {}, **options)
        if name == "approval":
            for _ in range(100):
                if (await handle.query("state"))["waitingForDecision"]:
                    break
                await asyncio.sleep(0.05)
            await handle.execute_update("decide", Decision("review", True, by="user-1", comment="ok"))
        try:
            await handle.result()
        except WorkflowFailureError:
            pass
        description = await handle.describe()
        first_run = description.raw_description.workflow_execution_info.first_run_id or description.run_id
        history = await engine_worker.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())

    await save(
        "every_step_type",
        [
            _set("start", n="{{ trigger.n }}"),
            {
                "id": "call",
                "type": "action",
                "action": "http.request",
                "name": "Call the API",
                "input": {"url": ok},
            },
            {
                "id": "check",
                "type": "condition",
                "if": "{{ vars.n > 1 }}",
                "then": [_set("big", size="big")],
                "else": [_set("small", size="small")],
            },
            {
                "id": "route",
                "type": "switch",
                "value": "{{ vars.size }}",
                "cases": {"big": [_set("b", x=1)]},
                "default": [_set("d", x=0)],
            },
            {
                "id": "each",
                "type": "loop",
                "items": "{{ [1, 2, 3] }}",
                "concurrency": 2,
                "steps": [_set("sq", v="{{ item * item }}")],
            },
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [_set("left", l=1)],
                    [{"id": "ping", "type": "action", "action": "http.request", "input": {"url": ok}}],
                ],
            },
            {"id": "nap", "type": "delay", "seconds": 1},
            {"id": "sub", "type": "subworkflow", "workflowId": child, "input": {"n": 4}},
            {"id": "reply", "type": "respond", "status": 200, "body": {"v": "{{ steps.sub.output.v }}"}},
            {"id": "end", "type": "stop", "status": "SUCCESS"},
        ],
        {"n": 3},
    )
    await save(
        "approval",
        [
            {"id": "review", "type": "approval", "message": "ok?", "timeoutSeconds": 3600},
            _set("after", approved="{{ steps.review.output.approved }}"),
        ],
    )
    await save(
        "approval_timeout",
        [{"id": "review", "type": "approval", "timeoutSeconds": 1, "defaultDecision": "approve"}],
    )
    await save(
        "error_paths",
        [
            {
                "id": "soft",
                "type": "action",
                "action": "http.request",
                "input": {"url": bad},
                "onError": "continue",
            },
            {
                "id": "handled",
                "type": "action",
                "action": "http.request",
                "input": {"url": bad},
                "onError": [_set("fallback", why="{{ steps.handled.output.error.type }}")],
            },
            {
                "id": "hard",
                "type": "action",
                "action": "http.request",
                "input": {"url": bad},
                "retry": {"maxAttempts": 2, "initialIntervalSeconds": 0.1},
            },
        ],
    )
    await save(
        "loop_batches",
        [
            {
                "id": "each",
                "type": "loop",
                "items": "{{ trigger.items }}",
                "steps": [_set("v", i="{{ item }}")],
            }
        ],
        {"items": list(range(25))},
        loop_batch_size=10,
    )
    await save(
        "continue_as_new",
        [
            {"id": f"c{i}", "type": "action", "action": "http.request", "input": {"url": ok}}
            for i in range(120)
        ],
    )
    await save("run_timeout", [{"id": "nap", "type": "delay", "seconds": 30}], timeout_seconds=1)
