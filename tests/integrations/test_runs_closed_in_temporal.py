"""Every run ends in Baton, on the real stack: a cancelled run that cannot heed the request (its workflow task
fails for ever) is terminated after the grace period and recorded CANCELLED; a run terminated or timed out
in Temporal behind Baton's back (the Web UI, the CLI) gets its true end from the worker's reconciler; a
reset run goes on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus

from core.contract import INTERPRETER_WORKFLOW, cancel_workflow_id, run_workflow_id
from core.runs.rows import ExecutionRows
from core.settings import Settings
from tests.integrations.conftest import Studio, eventually
from worker.main import closed_runs_reconciler
from worker.reconciler import ClosedRunsReconciler


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A short grace before a cancel terminates, and a reconciler that looks twice a second."""
    return settings.model_copy(update={"cancel_grace_seconds": 1, "reconcile_interval_seconds": 0.5})


@pytest.fixture
async def reconciler(
    temporal_client: Client, settings: Settings, engine: AsyncEngine, redis: Redis, task_queue: str
) -> AsyncIterator[ClosedRunsReconciler]:
    """The worker's reconciler loop, as `baton worker` runs it beside the worker."""
    running = closed_runs_reconciler(temporal_client, settings, engine, redis, task_queue=task_queue)
    task = asyncio.ensure_future(running.run())
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def stuck_run(
    studio: Studio, engine: AsyncEngine, temporal_client: Client, *, timeout: timedelta | None = None
) -> str:
    """A run of a published workflow whose workflow task fails for ever: its input does not decode, so its
    code never runs and a cancellation request is never delivered to it."""
    workflow_id = await studio.publish([{"id": "noop", "type": "set", "values": {"a": 1}}])
    execution_id = str(uuid.uuid4())
    await ExecutionRows(engine).insert_pending(execution_id, workflow_id, {}, {}, 0)
    await temporal_client.start_workflow(
        INTERPRETER_WORKFLOW,
        {"not": "a run input"},
        id=run_workflow_id(execution_id),
        task_queue=studio.engine.task_queue,
        execution_timeout=timeout,
    )
    return execution_id


def ended(execution: dict[str, Any]) -> bool:
    return execution["status"] not in ("PENDING", "RUNNING")


async def test_a_cancelled_run_whose_task_fails_for_ever_is_terminated_after_the_grace_and_ends_cancelled(
    studio: Studio, engine: AsyncEngine, temporal_client: Client
) -> None:
    execution_id = await stuck_run(studio, engine, temporal_client)
    handle = temporal_client.get_workflow_handle(run_workflow_id(execution_id))

    async def failing_tasks() -> bool:
        events = [event async for event in handle.fetch_history_events()]
        return any(event.HasField("workflow_task_failed_event_attributes") for event in events)

    assert await eventually(failing_tasks), "the run's workflow task never failed"
    cancelled = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/cancel", headers=studio.headers
    )
    assert cancelled.status_code == 202, cancelled.text
    done = await studio.until(execution_id, ended, timeout=30)
    assert done is not None, "the cancelled run never ended"
    assert done["status"] == "CANCELLED"
    assert "terminated in Temporal" in done["error"]
    assert "1 s after the request" in done["error"]
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    escalation = temporal_client.get_workflow_handle(cancel_workflow_id(execution_id))
    assert (await escalation.result())["status"] == "CANCELLED"
    again = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/cancel", headers=studio.headers
    )
    assert again.status_code == 409, again.text


async def test_a_run_that_heeds_its_cancel_ends_cancelled_by_itself_and_is_not_terminated(
    studio: Studio, temporal_client: Client
) -> None:
    workflow_id = await studio.publish([{"id": "nap", "type": "delay", "seconds": 60}])
    execution_id = await studio.start(workflow_id)
    assert await studio.until(execution_id, lambda e: e["status"] == "RUNNING") is not None
    cancelled = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/cancel", headers=studio.headers
    )
    assert cancelled.status_code == 202, cancelled.text
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "CANCELLED", done
    escalation = await temporal_client.get_workflow_handle(cancel_workflow_id(execution_id)).result()
    assert escalation["status"] is None  # the run wrote its own end: nothing more was recorded
    described = await temporal_client.get_workflow_handle(run_workflow_id(execution_id)).describe()
    assert described.status == WorkflowExecutionStatus.CANCELED


@pytest.mark.usefixtures("reconciler")
async def test_a_run_terminated_in_temporal_gets_its_true_end_in_baton(
    studio: Studio, temporal_client: Client
) -> None:
    workflow_id = await studio.publish(
        [{"id": "nap", "type": "delay", "seconds": 600}, {"id": "after", "type": "set", "values": {}}]
    )
    execution_id = await studio.start(workflow_id)
    waiting = await studio.until(
        execution_id, lambda e: "nap" in e["steps"] and e["steps"]["nap"]["status"] == "RUNNING"
    )
    assert waiting is not None, "the run never began its delay"
    handle = temporal_client.get_workflow_handle(run_workflow_id(execution_id))
    await handle.terminate(reason="stuck behind a vendor outage")
    done = await studio.until(execution_id, ended)
    assert done is not None, "Baton never learnt of the termination"
    assert done["status"] == "CANCELLED"
    assert done["error"] == "terminated in Temporal: stuck behind a vendor outage"
    assert done["steps"]["nap"]["status"] == "CANCELLED"  # no step row left RUNNING
    assert done["completedAt"] is not None


@pytest.mark.usefixtures("reconciler")
async def test_a_run_timed_out_in_temporal_ends_timeout_in_baton(
    studio: Studio, engine: AsyncEngine, temporal_client: Client
) -> None:
    execution_id = await stuck_run(studio, engine, temporal_client, timeout=timedelta(seconds=1))
    done = await studio.until(execution_id, ended)
    assert done is not None, "Baton never learnt of the timeout"
    assert done["status"] == "TIMEOUT"
    assert "timed out in Temporal" in done["error"]


@pytest.mark.usefixtures("reconciler")
async def test_a_run_reset_in_temporal_goes_on_and_ends_as_it_runs(
    studio: Studio, temporal_client: Client
) -> None:
    workflow_id = await studio.publish(
        [{"id": "nap", "type": "delay", "seconds": 2}, {"id": "after", "type": "set", "values": {"ok": 1}}]
    )
    execution_id = await studio.start(workflow_id)
    assert await studio.until(execution_id, lambda e: "nap" in e["steps"]) is not None
    handle = temporal_client.get_workflow_handle(run_workflow_id(execution_id))

    async def first_task_completed() -> Any:
        # the step's row is written during the first workflow task: its completion reaches the history
        # a moment later (under load, after the row)
        history = [event async for event in handle.fetch_history_events()]
        return next((e for e in history if e.HasField("workflow_task_completed_event_attributes")), None)

    first_task_done = await eventually(first_task_completed, timeout=20)
    assert first_task_done is not None, "the run's first workflow task never completed"
    await temporal_client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=temporal_client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id),
            reason="replay from the start",
            workflow_task_finish_event_id=first_task_done.event_id,
            request_id=str(uuid.uuid4()),
        )
    )
    # the reconciler lists the old run (terminated by the reset) and must leave the row to the new one
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "SUCCESS", done
    assert done["steps"]["after"]["output"] == {"ok": 1}
