"""The Temporal Web UI reads like the workflow (checked through Temporal's own API, as the UI reads it): a
failed run's result is the failed step's name and the author's message, without Baton's stack trace; the
action's timeline entry is the step's name."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistoryEventFilterType
from temporalio.exceptions import ApplicationError

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio


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
