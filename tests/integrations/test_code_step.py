"""The code step end to end: a published workflow runs `code.run` in JavaScript and Python on the `code`
execution profile's queue, its input from expressions and its result used by the next step; a failing
script fails its run with the script's line and column; a bad step is refused on save naming the field.
Records the replay guard's history of that path (tests/worker/histories/paths/action_profile_code.json)."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType

from tests.integrations.conftest import Studio
from tests.worker.recording import HISTORIES, recording


def code_step(language: str, source: str, data: Any, step_id: str = "script", **more: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "action",
        "action": "code.run",
        "input": {
            "language": language,
            "code": source,
            "input": data,
            "now": "{{ execution.startedAt }}",
            **more,
        },
    }


TOTAL = code_step(
    "javascript",
    "console.log('lines', input.lines.length);\n"
    "return {total: input.lines.reduce((sum, l) => sum + l.price * l.qty, 0)};",
    {"lines": "{{ trigger.lines }}"},
)


async def test_a_javascript_then_a_python_step_compute_from_the_run_and_feed_the_next_step(
    studio: Studio,
) -> None:
    steps = [
        TOTAL,
        code_step(
            "python",
            "from datetime import datetime\n{'doubled': input * 2, 'year': datetime.now().year}",
            "{{ steps.script.output.result.total }}",
            step_id="double",
        ),
        {"id": "said", "type": "set", "values": {"text": "total {{ steps.double.output.result.doubled }}"}},
    ]
    workflow_id = await studio.publish(steps)
    execution = await studio.run(workflow_id, {"lines": [{"price": 2.5, "qty": 4}, {"price": 1, "qty": 3}]})
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["script"]["output"] == {"result": {"total": 13}, "logs": ["lines 2"]}
    assert execution["steps"]["double"]["output"]["result"]["doubled"] == 26
    # the clock is the run's start, passed in
    assert execution["steps"]["double"]["output"]["result"]["year"] == int(execution["startedAt"][:4])
    assert execution["steps"]["said"]["output"] == {"text": "total 26"}


async def test_a_failing_script_fails_its_run_with_the_line_and_column(studio: Studio) -> None:
    workflow_id = await studio.publish([code_step("python", "x = input['a']\ny = x / 0", {"a": 1})])
    execution = await studio.run(workflow_id)
    assert execution["status"] == "FAILED"
    assert "line 2, column 5: ZeroDivisionError: division by zero" in execution["error"]


async def test_a_script_past_its_time_limit_fails_its_run_without_retrying(studio: Studio) -> None:
    step = code_step("javascript", "while (true) {}", None, timeLimitSeconds=0.5)
    workflow_id = await studio.publish([{**step, "retry": {"maxAttempts": 3}}])
    execution = await studio.run(workflow_id)
    assert execution["status"] == "FAILED"
    assert "ran longer than its 0.5 s limit" in execution["error"]
    assert execution["steps"]["script"]["attempts"] == 1


async def test_a_code_step_with_an_unknown_language_is_refused_on_save_naming_the_field(
    studio: Studio,
) -> None:
    body = {
        "name": "bad code",
        "triggerType": "MANUAL",
        "triggerConfig": {},
        "steps": [code_step("ruby", "1", None)],
    }
    created = await studio.client.post(f"{studio.base}/workflows", headers=studio.headers, json=body)
    assert created.status_code == 422, created.text
    assert created.json()["path"] == "steps[0].input.language"


async def run_totals(studio: Studio) -> Any:
    workflow_id = await studio.publish([TOTAL])
    handle = await studio.engine.start([TOTAL], {"lines": [{"price": 1, "qty": 2}]}, workflow_id=workflow_id)
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    return await handle.fetch_history()


async def test_a_code_step_runs_on_the_code_profiles_queue(studio: Studio) -> None:
    history = await run_totals(studio)
    (scheduled,) = [
        event.activity_task_scheduled_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == "code.run"
    ]
    assert scheduled.task_queue.name == f"{studio.engine.task_queue}-code"
    assert scheduled.start_to_close_timeout.ToSeconds() == 120  # the profile's, the step setting none


@recording
async def test_record_a_run_whose_code_step_runs_on_the_code_profile(studio: Studio) -> None:
    history = await run_totals(studio)
    (HISTORIES / "paths" / "action_profile_code.json").write_text(history.to_json())
