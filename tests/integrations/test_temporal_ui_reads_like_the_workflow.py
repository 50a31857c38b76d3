"""The Temporal Web UI reads like the workflow (checked through Temporal's own API, as the UI reads it): a
run is listed under its workflow's name (the type column) and keeps its id; a failed run's result is the
failed step's name and the author's message, without Baton's stack trace."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistoryEventFilterType
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from core.codec import data_converter
from core.contract import CANCEL_WORKFLOW, INTERPRETER_WORKFLOW, POLLER_WORKFLOW, run_workflow_type
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio, live_is
from worker.interpreter import BatonRun
from worker.main import workflow_runner
from worker.named_runs import NamedBatonRun


async def test_a_failed_run_shows_its_step_and_the_message_without_a_stack_trace(
    studio: Studio, http_server: ScriptedServer, temporal_client: Client
) -> None:
    url = http_server.script("/orders", Reply(500, {"error": "database connection pool exhausted"}))
    workflow_id = await studio.publish(
        [
            {
                "id": "fetch",
                "name": "Fetch orders",
                "type": "action",
                "action": "http.request",
                "input": {"url": url},
                "retry": {"maxAttempts": 1},
            }
        ]
    )
    done = await studio.run(workflow_id)
    assert done["status"] == "FAILED"
    handle = temporal_client.get_workflow_handle(f"run-{done['id']}")
    closing = [
        event
        async for event in handle.fetch_history_events(
            event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
        )
    ]
    assert len(closing) == 1
    assert closing[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    sealed = closing[0].workflow_execution_failed_event_attributes.failure
    failure = await temporal_client.data_converter.decode_failure(sealed)  # as the UI's codec shows it
    assert isinstance(failure, ApplicationError)
    assert failure.message == f"Fetch orders: {done['error']}", failure.message
    assert "answered 500" in failure.message
    shown = failure.failure
    assert shown is not None
    assert shown.stack_trace == "", shown.stack_trace
    assert not shown.HasField("cause")
    text = str(shown)
    assert "Traceback" not in text
    assert 'File "' not in text
    # the timeline labels the failed call with the step's name (the UI shows an event's summary first)
    summaries = [
        (await temporal_client.data_converter.decode([event.user_metadata.summary], [str]))[0]
        async for event in handle.fetch_history_events()
        if event.user_metadata.HasField("summary")
    ]
    assert "Fetch orders" in summaries, summaries


async def test_a_run_is_listed_under_its_workflows_name_and_stays_reachable_by_its_id(
    studio: Studio, temporal_client: Client, settings: Settings
) -> None:
    steps: list[dict[str, Any]] = [
        {"id": "hello", "type": "set", "values": {"greeting": "hi {{ trigger.name }}"}},
        {"id": "ok", "type": "approval", "message": "Send it?"},
    ]
    workflow_id = await studio.publish(steps, name="Greet new signups")
    execution_id = await studio.start(workflow_id, {"name": "Ada"})
    waiting = await studio.until(execution_id, live_is("waiting"))
    assert waiting is not None, "the run never reached its approval"
    # the list's default columns: workflow id, run id, type
    handle = temporal_client.get_workflow_handle(f"run-{execution_id}")
    described = await handle.describe()
    assert described.workflow_type == "Greet new signups"
    assert described.id == f"run-{execution_id}"
    listed = [w async for w in temporal_client.list_workflows(f"WorkflowId = 'run-{execution_id}'")]
    assert [w.workflow_type for w in listed] == ["Greet new signups"]
    # the interpreter's query and update answer under that type too
    assert (await handle.query("state"))["waitingForDecision"] == ["ok"]
    decided = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/steps/ok/decision",
        headers=studio.headers,
        json={"approved": True},
    )
    assert decided.status_code in (200, 202), decided.text
    done = await studio.until(execution_id, lambda e: e["status"] not in ("PENDING", "RUNNING"))
    assert done is not None
    assert done["status"] == "SUCCESS", done
    assert done["steps"]["hello"]["output"] == {"greeting": "hi Ada"}
    # and its history replays on the worker's workflows, as a run in flight must after a deploy
    replayer = Replayer(
        workflows=[BatonRun, NamedBatonRun],
        workflow_runner=workflow_runner(),
        data_converter=data_converter(settings),
    )
    await replayer.replay_workflow(await handle.fetch_history())


def test_a_workflow_without_a_name_or_named_like_batons_own_types_runs_as_the_interpreter() -> None:
    assert run_workflow_type("Greet new signups") == "Greet new signups"
    assert run_workflow_type("  Nightly report  ") == "Nightly report"
    assert run_workflow_type(None) == INTERPRETER_WORKFLOW
    assert run_workflow_type("   ") == INTERPRETER_WORKFLOW
    assert run_workflow_type(POLLER_WORKFLOW) == INTERPRETER_WORKFLOW
    assert run_workflow_type(CANCEL_WORKFLOW) == INTERPRETER_WORKFLOW
    assert len(run_workflow_type("x" * 5000)) == 200
