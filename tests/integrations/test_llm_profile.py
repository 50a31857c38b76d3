"""An LLM call runs on the `long` execution profile (core.execution_profiles): on its own task queue, never
as a local activity, with a heartbeat timeout; and records the replay guard's history of that path
(tests/worker/histories/paths/action_profile_long.json, see tests/worker/test_replay.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType

from tests.http_server import ScriptedServer
from tests.integrations.conftest import Studio
from tests.integrations.llm_servers import MODELS, PROVIDERS, connect, step
from tests.worker.recording import recording

PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"


async def run_a_chat(studio: Studio, model_server: ScriptedServer) -> Any:
    case = PROVIDERS["openai"]
    model_server.script(case["path"], case["reply"])
    connection = await connect(studio, model_server, "openai")
    steps = [
        step(
            "llm.chat",
            connection,
            {"model": MODELS["openai"], "messages": [{"role": "user", "content": "Hello"}]},
        )
    ]
    workflow_id = await studio.publish(steps)
    handle = await studio.engine.start(steps, {}, workflow_id=workflow_id)
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    return await handle.fetch_history()


async def test_an_llm_chat_runs_on_the_long_profiles_queue_with_a_heartbeat_timeout(
    studio: Studio, model_server: ScriptedServer
) -> None:
    history = await run_a_chat(studio, model_server)
    (scheduled,) = [
        event.activity_task_scheduled_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == "llm.chat"
    ]
    assert scheduled.task_queue.name == f"{studio.engine.task_queue}-long"
    assert scheduled.heartbeat_timeout.ToSeconds() == 60
    assert scheduled.start_to_close_timeout.ToSeconds() == 3600  # the profile's, the step setting none


@recording
async def test_record_a_run_whose_action_runs_on_the_long_profile(
    studio: Studio, model_server: ScriptedServer
) -> None:
    history = await run_a_chat(studio, model_server)
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "action_profile_long.json").write_text(history.to_json())
