"""Runs larger than one history allows still complete: loops in child batches, continue-as-new, and
step outputs that would bloat the history are refused clearly."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer

pytestmark = pytest.mark.slow


async def test_a_loop_over_ten_thousand_items_completes_in_child_batches(engine_worker: Engine) -> None:
    steps = [
        {
            "id": "each",
            "type": "loop",
            "items": "{{ trigger.items }}",
            "concurrency": 20,
            "steps": [{"id": "square", "type": "set", "values": {"v": "{{ item * item }}"}}],
        },
        {
            "id": "total",
            "type": "set",
            "values": {
                "n": "{{ steps.each.output.results | length }}",
                "last": "{{ steps.each.output.results[-1].v }}",
            },
        },
    ]
    handle = await engine_worker.start(steps, {"items": list(range(10_000))}, loop_batch_size=1000)
    result = await handle.result()
    assert result.result == {"n": 10_000, "last": 9999 * 9999}
    parent_events = len([e async for e in handle.fetch_history_events()])
    assert parent_events < 200, parent_events  # the items ran in 10 children, not in this history
    rows = await engine_worker.db.fetchval(
        "SELECT count(*) FROM step_executions WHERE execution_id = $1 AND step_id = 'square'",
        handle.id.removeprefix("run-"),
    )
    assert rows == 10_000


async def test_a_loop_of_actions_in_batches_keeps_each_history_small(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    http_server.script("/ping", Reply(200, {"ok": True}))
    steps = [
        {
            "id": "each",
            "type": "loop",
            "items": "{{ trigger.items }}",
            "concurrency": 10,
            "steps": [
                {
                    "id": "ping",
                    "type": "action",
                    "action": "http.request",
                    "input": {"url": http_server.base_url + "/ping", "query": {"i": "{{ item }}"}},
                }
            ],
        }
    ]
    handle = await engine_worker.start(steps, {"items": list(range(300))}, loop_batch_size=100)
    result = await handle.result()
    assert len(result.result["results"]) == 300
    assert len(http_server.hits("/ping")) == 300


async def test_long_runs_continue_as_new_and_keep_their_outputs(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    http_server.script("/n", Reply(200, {"ok": True}))
    steps: list[dict[str, Any]] = [{"id": "first", "type": "set", "values": {"seed": 7}}]
    steps += [
        {
            "id": f"call_{i}",
            "type": "action",
            "action": "http.request",
            "input": {"url": http_server.base_url + "/n"},
            # Longer than LOCAL_ACTION_MAX_TIMEOUT: regular activities, ~6 events each. (Short actions run
            # as local activities, one marker each, and seldom make a history long enough to continue.)
            "timeoutSeconds": 600,
        }
        for i in range(300)
    ]
    steps += [
        {
            "id": "last",
            "type": "set",
            "values": {"seed": "{{ vars.seed }}", "first": "{{ steps.first.output.seed }}"},
        }
    ]
    # The test server suggests continue-as-new at 500 events (tests/conftest.py), the real one at 4,096:
    # 300 actions make ~1,800 events, so this run continues as new several times.
    handle = await engine_worker.start(steps)
    result = await handle.result()
    assert result.result == {"seed": 7, "first": 7}
    description = await handle.describe()
    assert description.raw_description.workflow_execution_info.first_run_id != description.run_id
    execution = await engine_worker.execution(handle)
    assert execution["status"] == "SUCCESS"
    assert (
        await engine_worker.db.fetchval(
            "SELECT count(*) FROM step_executions WHERE execution_id = $1", execution["id"]
        )
        == 302
    )


async def test_an_output_past_the_size_limit_fails_the_step_clearly(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/huge", Reply(200, "x" * 400_000))
    handle = await engine_worker.start(
        [{"id": "big", "type": "action", "action": "http.request", "input": {"url": url}}]
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    error = (await engine_worker.execution(handle))["error"]
    assert "a step output may be at most 262,144 bytes" in error
    assert "BLOB_STORE_URL is not set" in error  # what would raise the limit, named
    assert len(http_server.hits("/huge")) == 1  # not retried: retrying cannot shrink it
