"""What the Temporal Web UI shows of a run, checked through Temporal's own API (describe, the metadata
query the UI reads, the history): a summary that names the workflow, version and trigger; details; the
current details saying what the run waits for and which branch a condition took; steps, timers and
Baton's record-keeping under their own names; the input with the trigger data before the definition."""

from __future__ import annotations

import json
from typing import Any

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from api.codec import create_codec_app
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio, eventually


async def text_of(client: Client, payload: Payload) -> str:
    (value,) = await client.data_converter.decode([payload], [str])
    return str(value)


async def test_a_run_reads_as_its_workflow_in_the_temporal_web_ui(
    studio: Studio, http_server: ScriptedServer, temporal_client: Client, settings: Settings
) -> None:
    url = http_server.script("/profile", Reply(200, {"tier": "gold"}))
    steps: list[dict[str, Any]] = [
        {"id": "fetch", "name": "Fetch profile", "type": "action", "action": "http.request",
         "input": {"url": url}},
        {"id": "check", "type": "condition", "if": "{{ steps.fetch.output.body.tier == 'gold' }}",
         "then": [{"id": "gold", "type": "set", "values": {"gold": True}}]},
        {"id": "pause", "name": "Wait a moment", "type": "delay", "seconds": 0.2},
        {"id": "approve", "type": "approval", "message": "Send the gold welcome?"},
    ]  # fmt: skip
    workflow_id = await studio.publish(steps, name="Greet new signups")
    started = await studio.client.post(
        f"{studio.base}/workflows/{workflow_id}/run",
        headers=studio.headers,
        json={"payload": {"email": "ada@example.com"}},
    )
    execution_id = started.json()["id"]

    async def waiting() -> bool:
        live = (await studio.execution(execution_id))["live"]
        return bool(live and any(step.get("for") == "approval" for step in live["steps"]))

    assert await eventually(waiting, timeout=20), "the run never reached its approval"
    handle = temporal_client.get_workflow_handle(f"run-{execution_id}")

    description = await handle.describe()
    assert await description.static_summary() == "Greet new signups v1 · manual"
    details = await description.static_details()
    assert details is not None
    assert "**Version** 1" in details
    assert workflow_id in details

    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    current = metadata.current_details
    assert "waiting for approval: Send the gold welcome?" in current
    assert "✓ check (condition) → then" in current
    assert "✓ Fetch profile (action)" in current

    summaries: list[str] = []
    inputs: Payloads | None = None
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            inputs = event.workflow_execution_started_event_attributes.input
        if event.user_metadata.HasField("summary"):
            summaries.append(await text_of(temporal_client, event.user_metadata.summary))
    assert "Wait a moment: delay" in summaries  # the timer, named after its step
    assert "Fetch profile" in summaries, summaries  # the action, under its step's name
    assert any(s.startswith("Baton records:") for s in summaries), summaries
    # the input pane, as the UI gets it from the codec endpoint: the trigger data and the version first
    assert inputs is not None
    codec = httpx.AsyncClient(  # as the Web UI on this machine calls it (api.codec)
        transport=httpx.ASGITransport(app=create_codec_app(settings)),
        base_url=f"http://127.0.0.1:{settings.api_port}",
        headers={"origin": settings.temporal_ui_url},
    )
    async with codec:
        decoded = await codec.post("/decode", content=json_format.MessageToJson(inputs))
    assert decoded.status_code == 200, decoded.text
    (shown,) = json_format.Parse(decoded.text, Payloads()).payloads
    first_input: dict[str, Any] = json.loads(shown.data)
    keys = list(first_input)
    assert keys[:5] == ["workflow_name", "workflow_id", "version", "trigger_type", "trigger_data"], keys
    assert keys[-1] == "definition"
    assert first_input["trigger_data"] == {"email": "ada@example.com"}
    assert first_input["workflow_name"] == "Greet new signups"
