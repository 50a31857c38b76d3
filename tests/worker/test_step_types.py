"""Every step type, end to end on the dev server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from tests.engine import Engine, output
from tests.factories import action_step, create_workflow
from tests.http_server import Reply, ScriptedServer


def set_step(step_id: str, **values: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "set", "values": values}


async def test_condition_takes_the_else_branch_when_false(engine_worker: Engine) -> None:
    result = await engine_worker.run(
        [
            {
                "id": "check",
                "type": "condition",
                "if": "{{ trigger.n > 10 }}",
                "then": [set_step("big", size="big")],
                "else": [set_step("small", size="small")],
            }
        ],
        {"n": 3},
    )
    assert result.result == {"size": "small"}


async def test_switch_routes_by_value_and_falls_back_to_default(engine_worker: Engine) -> None:
    steps = [
        {
            "id": "route",
            "type": "switch",
            "value": "{{ trigger.plan }}",
            "cases": {"pro": [set_step("p", seats=10)], "free": [set_step("f", seats=1)]},
            "default": [set_step("d", seats=0)],
        }
    ]
    assert (await engine_worker.run(steps, {"plan": "pro"})).result == {"seats": 10}
    handle = await engine_worker.start(steps, {"plan": "enterprise"})
    assert (await handle.result()).result == {"seats": 0}
    assert output((await engine_worker.step_rows(handle))["route"]) == {"matched": None}


async def test_loop_collects_the_last_step_of_each_item_in_order(engine_worker: Engine) -> None:
    steps = [
        {
            "id": "each",
            "type": "loop",
            "items": "{{ trigger.names }}",
            "concurrency": 3,
            "steps": [set_step("upper", name="{{ item | upper }}", position="{{ index }}")],
        },
        set_step(
            "after", count="{{ steps.each.output.results | length }}", last="{{ steps.upper.output.name }}"
        ),
    ]
    handle = await engine_worker.start(steps, {"names": ["a", "b", "c", "d", "e"]})
    result = await handle.result()
    assert result.result == {"count": 5, "last": "E"}
    rows = await engine_worker.db.fetch(
        "SELECT output FROM step_executions WHERE execution_id = $1 AND step_id = 'upper'",
        handle.id.removeprefix("run-"),
    )
    assert len(rows) == 5  # one row per item
    each = (await engine_worker.step_rows(handle))["each"]
    assert output(each)["results"] == [{"name": n, "position": i} for i, n in enumerate("ABCDE")]


async def test_a_loop_over_something_that_is_not_a_list_fails_clearly(engine_worker: Engine) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        await engine_worker.run(
            [{"id": "each", "type": "loop", "items": "{{ trigger.x }}", "steps": [set_step("s", v=1)]}],
            {"x": 5},
        )
    assert "items must be a list, got int" in str(caught.value.cause)


async def test_loop_refuses_more_items_than_max_items(engine_worker: Engine) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        await engine_worker.run(
            [
                {
                    "id": "each",
                    "type": "loop",
                    "items": "{{ trigger.x }}",
                    "maxItems": 2,
                    "steps": [set_step("s", v=1)],
                }
            ],
            {"x": [1, 2, 3]},
        )
    assert "3 items is more than maxItems (2)" in str(caught.value.cause)


async def test_parallel_runs_branches_and_joins_their_outputs(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    http_server.script("/a", Reply(200, {"from": "a"}))
    http_server.script("/b", Reply(200, {"from": "b"}))
    steps = [
        {
            "id": "both",
            "type": "parallel",
            "branches": [
                [action_step("call_a", "http.request", {"url": http_server.base_url + "/a"})],
                [
                    action_step("call_b", "http.request", {"url": http_server.base_url + "/b"}),
                    set_step("tag", b="{{ steps.call_b.output.body.from }}"),
                ],
            ],
        },
        set_step("joined", a="{{ steps.call_a.output.body.from }}", b="{{ vars.b }}"),
    ]
    handle = await engine_worker.start(steps)
    assert (await handle.result()).result == {"a": "a", "b": "b"}
    both = output((await engine_worker.step_rows(handle))["both"])
    assert both["branches"][0]["body"] == {"from": "a"}
    assert both["branches"][1] == {"b": "b"}


async def test_a_failing_parallel_branch_cancels_the_others(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    http_server.script("/bad", Reply(400, "no"))
    steps = [
        {
            "id": "both",
            "type": "parallel",
            "branches": [
                [action_step("fails", "http.request", {"url": http_server.base_url + "/bad"})],
                [{"id": "waits", "type": "delay", "seconds": 3600}, set_step("never", x=1)],
            ],
        }
    ]
    handle = await engine_worker.start(steps)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    rows = await engine_worker.step_rows(handle)
    assert "never" not in rows
    assert rows["fails"]["status"] == "FAILED"
    assert (await engine_worker.execution(handle))["status"] == "FAILED"


async def test_a_failing_branch_with_on_error_does_not_stop_the_others(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    http_server.script("/bad", Reply(400, "no"))
    steps = [
        {
            "id": "both",
            "type": "parallel",
            "branches": [
                [
                    action_step(
                        "fails", "http.request", {"url": http_server.base_url + "/bad"}, onError="continue"
                    )
                ],
                [set_step("fine", ok=True)],
            ],
        }
    ]
    result = await engine_worker.run(steps)
    assert result.status == "SUCCESS"


async def test_delay_waits_durably_and_reports_when_it_resumed(engine_worker: Engine) -> None:
    handle = await engine_worker.start(
        [{"id": "nap", "type": "delay", "seconds": "{{ trigger.s }}"}], {"s": 1}
    )
    result = await handle.result()
    assert "resumedAt" in result.result
    history = [e async for e in handle.fetch_history_events()]
    assert any(e.HasField("timer_started_event_attributes") for e in history)


async def test_delay_until_a_time_in_the_past_does_not_wait(engine_worker: Engine) -> None:
    result = await engine_worker.run([{"id": "nap", "type": "delay", "until": "2000-01-01T00:00:00Z"}])
    assert result.status == "SUCCESS"


async def test_set_merges_into_vars(engine_worker: Engine) -> None:
    result = await engine_worker.run(
        [set_step("a", x=1, y="{{ trigger.y }}"), set_step("b", z="{{ vars.x + vars.y }}")], {"y": 41}
    )
    assert result.result == {"z": 42}


async def test_respond_becomes_the_result_and_is_queryable(engine_worker: Engine) -> None:
    handle = await engine_worker.start(
        [
            {
                "id": "reply",
                "type": "respond",
                "status": 201,
                "headers": {"x-id": "{{ trigger.id }}"},
                "body": {"ok": True, "id": "{{ trigger.id }}"},
            },
            set_step("after", more=1),
        ],
        {"id": 7},
    )
    result = await handle.result()
    assert result.response == {"status": 201, "headers": {"x-id": "7"}, "body": {"ok": True, "id": 7}}
    assert result.result == {"ok": True, "id": 7}
    assert (await handle.query("response"))["status"] == 201


async def test_stop_ends_the_run_with_its_status(engine_worker: Engine) -> None:
    ok = await engine_worker.run(
        [{"id": "halt", "type": "stop", "status": "SUCCESS"}, set_step("never", x=1)]
    )
    assert ok.status == "SUCCESS"
    handle = await engine_worker.start(
        [{"id": "halt", "type": "stop", "status": "FAILED", "message": "bad order {{ trigger.id }}"}],
        {"id": 9},
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    execution = await engine_worker.execution(handle)
    assert (execution["status"], execution["error"]) == ("FAILED", "bad order 9")


async def test_subworkflow_runs_the_published_version_and_returns_its_result(engine_worker: Engine) -> None:
    child = await create_workflow(engine_worker.db, [set_step("double", value="{{ trigger.n * 2 }}")])
    result = await engine_worker.run(
        [
            {"id": "call", "type": "subworkflow", "workflowId": child, "input": {"n": "{{ trigger.n }}"}},
            set_step("use", got="{{ steps.call.output.value }}"),
        ],
        {"n": 21},
    )
    assert result.result == {"got": 42}
    child_run = await engine_worker.db.fetchrow(
        "SELECT * FROM workflow_executions WHERE workflow_id = $1", child
    )
    assert child_run["status"] == "SUCCESS"


async def test_a_subworkflow_without_a_published_version_fails_the_step(engine_worker: Engine) -> None:
    draft = await create_workflow(engine_worker.db, [set_step("x", v=1)], publish=False)
    with pytest.raises(WorkflowFailureError) as caught:
        await engine_worker.run([{"id": "call", "type": "subworkflow", "workflowId": draft}])
    assert "has no published version" in str(caught.value.cause)


async def test_the_state_query_shows_the_current_step(engine_worker: Engine) -> None:
    handle = await engine_worker.start([set_step("a", v=1), {"id": "nap", "type": "delay", "seconds": 30}])
    for _ in range(50):
        state = await handle.query("state")
        if state["current"] == ["nap"]:
            break
        await asyncio.sleep(0.1)
    assert state["current"] == ["nap"]
    assert state["steps"] == {"a": "SUCCESS", "nap": "RUNNING"}
    await handle.cancel()


async def test_subworkflows_stop_at_the_depth_limit(engine_worker: Engine) -> None:
    # Save-time validation refuses cycles; a run still stops if one slipped through (e.g. edited rows).
    looping = await create_workflow(engine_worker.db, [])
    steps = [{"id": "again", "type": "subworkflow", "workflowId": looping}]
    await engine_worker.db.execute(
        "UPDATE workflow_versions SET steps = $2 WHERE workflow_id = $1", looping, json.dumps(steps)
    )
    handle = await engine_worker.start(steps, workflow_id=looping)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert "subworkflows nest deeper than 5" in (await engine_worker.execution(handle))["error"]


async def test_a_stop_step_is_recorded_with_its_status(engine_worker: Engine) -> None:
    handle = await engine_worker.start(
        [{"id": "halt", "type": "stop", "status": "SUCCESS", "message": "done"}]
    )
    await handle.result()
    assert output((await engine_worker.step_rows(handle))["halt"]) == {"status": "SUCCESS", "message": "done"}
