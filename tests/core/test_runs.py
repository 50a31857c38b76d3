"""The run service: start with search attributes, cancel, retry up to maxRetries, resume from the failure."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowFailureError

from core.errors import Conflict, LimitExceeded, NotFound
from core.runs import RunService, StartRequest
from core.runs.starts import InvalidIdempotencyKey
from core.settings import Settings
from tests.factories import create_workflow
from tests.http_server import Reply, ScriptedServer


@pytest.fixture
def runs(engine: AsyncEngine, temporal_client: Client, settings: Settings, task_queue: str) -> RunService:
    return RunService(
        engine, temporal_client, settings.model_copy(update={"temporal_task_queue": task_queue})
    )


def calls(base: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "charge",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": base + "/charge"},
        },
        {
            "id": "notify",
            "type": "action",
            "action": "http.request",
            "input": {"url": base + "/notify"},
            "retry": {"maxAttempts": 1},
        },
    ]


async def _status(db: asyncpg.Connection, execution_id: str) -> str:
    return str(await db.fetchval("SELECT status FROM workflow_executions WHERE id = $1", execution_id))


@pytest.mark.usefixtures("engine_worker")
async def test_a_started_run_carries_its_search_attributes_and_records_its_version(
    runs: RunService, db: asyncpg.Connection
) -> None:
    workflow_id = await create_workflow(db, [{"id": "s", "type": "set", "values": {"v": "{{ trigger.v }}"}}])
    started = await runs.start(StartRequest(await runs.published_version(workflow_id), {"v": 5}))
    assert started.temporal_workflow_id == f"run-{started.execution_id}"
    result = await runs.handle(started.execution_id).result()
    assert result.result == {"v": 5}
    description = await runs.handle(started.execution_id).describe()
    attributes = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    assert attributes["BatonWorkflowId"] == workflow_id
    assert attributes["BatonWorkflowVersion"] == 1
    assert attributes["BatonTriggerType"] == "MANUAL"
    context = json.loads(
        await db.fetchval("SELECT context FROM workflow_executions WHERE id = $1", started.execution_id)
    )
    assert context["version"] == 1


@pytest.mark.usefixtures("engine_worker")
async def test_a_manual_run_by_the_same_key_is_the_first_run_and_a_draft_run_is_a_test(
    runs: RunService, db: asyncpg.Connection
) -> None:
    workflow_id = await create_workflow(db, [{"id": "s", "type": "set", "values": {"v": "{{ trigger.v }}"}}])
    first = await runs.start_manual(workflow_id, {"v": 1}, idempotency_key="order-7")
    again = await runs.start_manual(workflow_id, {"v": 2}, idempotency_key="order-7")
    assert again.execution_id == first.execution_id
    assert (await runs.handle(first.execution_id).result()).result == {"v": 1}
    with pytest.raises(InvalidIdempotencyKey, match="Idempotency-Key"):
        await runs.start_manual(workflow_id, {}, idempotency_key=" ")
    draft = await runs.start_manual(workflow_id, {"v": 3}, draft=True)
    assert draft.execution_id != first.execution_id
    context = json.loads(
        await db.fetchval("SELECT context FROM workflow_executions WHERE id = $1", draft.execution_id)
    )
    assert context["test"] is True


async def test_a_workflow_that_was_never_published_cannot_start(
    runs: RunService, db: asyncpg.Connection
) -> None:
    workflow_id = await create_workflow(db, [], publish=False)
    with pytest.raises(NotFound, match="publish it first"):
        await runs.published_version(workflow_id)


@pytest.mark.usefixtures("engine_worker")
async def test_cancel_stops_a_waiting_run_and_refuses_a_finished_one(
    runs: RunService, db: asyncpg.Connection
) -> None:
    workflow_id = await create_workflow(db, [{"id": "nap", "type": "delay", "seconds": 3600}])
    started = await runs.start(StartRequest(await runs.published_version(workflow_id), {}))
    for _ in range(50):
        if await _status(db, started.execution_id) == "RUNNING":
            break
        await asyncio.sleep(0.05)
    await runs.cancel(started.execution_id)
    with pytest.raises(WorkflowFailureError):
        await runs.handle(started.execution_id).result()
    assert await _status(db, started.execution_id) == "CANCELLED"
    with pytest.raises(Conflict):
        await runs.cancel(started.execution_id)


@pytest.mark.usefixtures("engine_worker")
async def test_retry_runs_again_with_the_same_trigger_data_up_to_max_retries(
    runs: RunService, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    http_server.script("/charge", Reply(200, {"id": "ch_1"}))
    http_server.script("/notify", Reply(400, "bad"))
    workflow_id = await create_workflow(db, calls(http_server.base_url))
    first = await runs.start(StartRequest(await runs.published_version(workflow_id), {"order": 1}))
    with pytest.raises(WorkflowFailureError):
        await runs.handle(first.execution_id).result()
    execution_id = first.execution_id
    for attempt in range(1, 4):
        again = await runs.retry(execution_id)
        with pytest.raises(WorkflowFailureError):
            await runs.handle(again.execution_id).result()
        row = await db.fetchrow(
            "SELECT retry_count, trigger_data FROM workflow_executions WHERE id = $1", again.execution_id
        )
        assert row["retry_count"] == attempt
        assert json.loads(row["trigger_data"]) == {"order": 1}
        execution_id = again.execution_id
    with pytest.raises(LimitExceeded, match="maxRetries is 3"):
        await runs.retry(execution_id)


@pytest.mark.usefixtures("engine_worker")
async def test_resume_reuses_what_succeeded_and_starts_at_the_failed_step(
    runs: RunService, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    http_server.script("/charge", Reply(200, {"id": "ch_1"}))
    http_server.script("/notify", Reply(503, "down"), Reply(200, {"sent": True}))
    workflow_id = await create_workflow(db, calls(http_server.base_url))
    first = await runs.start(StartRequest(await runs.published_version(workflow_id), {}))
    with pytest.raises(WorkflowFailureError):
        await runs.handle(first.execution_id).result()

    resumed = await runs.resume(first.execution_id)
    result = await runs.handle(resumed.execution_id).result()
    assert result.result["body"] == {"sent": True}
    assert len(http_server.hits("/charge")) == 1  # the customer was charged once, not twice
    assert len(http_server.hits("/notify")) == 2
    context = json.loads(
        await db.fetchval("SELECT context FROM workflow_executions WHERE id = $1", resumed.execution_id)
    )
    assert context["resumedFrom"] == first.execution_id


@pytest.mark.usefixtures("engine_worker")
async def test_resume_can_run_the_latest_version(
    runs: RunService, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    http_server.script("/charge", Reply(200, {"id": "ch_1"}))
    http_server.script("/notify", Reply(400, "bad"))
    http_server.script("/notify-v2", Reply(200, {"v": 2}))
    workflow_id = await create_workflow(db, calls(http_server.base_url))
    first = await runs.start(StartRequest(await runs.published_version(workflow_id), {}))
    with pytest.raises(WorkflowFailureError):
        await runs.handle(first.execution_id).result()
    fixed = calls(http_server.base_url)
    fixed[1]["input"]["url"] = http_server.base_url + "/notify-v2"
    await db.execute(
        "INSERT INTO workflow_versions (workflow_id, version, name, trigger_type, trigger_config, steps, "
        "created_by) VALUES ($1, 2, 'wf', 'MANUAL', '{}', $2, 'u')",
        workflow_id,
        json.dumps(fixed),
    )
    resumed = await runs.resume(first.execution_id, latest_version=True)
    assert resumed.version == 2
    assert (await runs.handle(resumed.execution_id).result()).result["body"] == {"v": 2}
    assert len(http_server.hits("/charge")) == 1


@pytest.mark.usefixtures("engine_worker")
async def test_a_successful_execution_cannot_be_retried_or_resumed(
    runs: RunService, db: asyncpg.Connection
) -> None:
    workflow_id = await create_workflow(db, [{"id": "s", "type": "set", "values": {"v": 1}}])
    started = await runs.start(StartRequest(await runs.published_version(workflow_id), {}))
    await runs.handle(started.execution_id).result()
    with pytest.raises(Conflict, match="only failed, timed-out or cancelled"):
        await runs.retry(started.execution_id)
    with pytest.raises(Conflict):
        await runs.resume(started.execution_id)
