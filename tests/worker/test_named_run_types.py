"""Runs that Baton's workflows start (a schedule's tick, a subworkflow step) are listed in the Temporal Web UI
under their workflow's name too, and the histories of the workflows that start them, of a run started under
its workflow's name (served by NamedBatonRun) and of a cancellation's escalation (BatonCancel), recorded here
and written to tests/worker/histories/paths/ with BATON_RECORD_HISTORIES=1, replay."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import WorkflowHandle

from core.contract import CANCEL_WORKFLOW, SCHEDULED_RUN_WORKFLOW, CancelRequest, ScheduledFire
from tests.engine import Engine
from tests.factories import create_workflow
from tests.worker.recording import recording

PATHS = Path(__file__).parent / "histories" / "paths"


async def a_scheduled_tick(engine: Engine) -> tuple[WorkflowHandle[str, str], str]:
    """A schedule's tick, run to its end; the execution id of the run it started."""
    scheduled = await create_workflow(
        engine.db,
        [{"id": "tick", "type": "set", "values": {"at": "{{ trigger.scheduledAt }}"}}],
        trigger_type="SCHEDULE",
        trigger_config={"cron": "0 * * * *"},
    )
    await engine.db.execute("UPDATE workflows SET is_active = true WHERE id = $1", scheduled)
    tick: WorkflowHandle[str, str] = await engine.client.start_workflow(
        SCHEDULED_RUN_WORKFLOW,
        ScheduledFire(scheduled),
        id=f"schedule-tick-{uuid.uuid4().hex[:8]}",
        task_queue=engine.task_queue,
        result_type=str,
    )
    assert "SUCCESS" in await tick.result()
    child = await engine.db.fetchval(
        "SELECT id::text FROM workflow_executions WHERE workflow_id = $1", scheduled
    )
    return tick, str(child)


async def a_subworkflow_parent(engine: Engine) -> tuple[WorkflowHandle[object, object], str]:
    """A run whose subworkflow step ran to its end; the execution id of the child."""
    child = await create_workflow(engine.db, [{"id": "double", "type": "set", "values": {"v": 4}}])
    parent = await engine.start([{"id": "sub", "type": "subworkflow", "workflowId": child, "input": {}}])
    assert (await parent.result()).status == "SUCCESS"
    child_id = await engine.db.fetchval(
        "SELECT id::text FROM workflow_executions WHERE workflow_id = $1", child
    )
    return parent, str(child_id)


async def test_a_scheduled_run_is_listed_under_its_workflows_name(engine_worker: Engine) -> None:
    _, child = await a_scheduled_tick(engine_worker)
    described = await engine_worker.client.get_workflow_handle(f"run-{child}").describe()
    assert described.workflow_type == "wf"  # the factory's workflow name


async def test_a_subworkflow_run_is_listed_under_its_workflows_name(engine_worker: Engine) -> None:
    _, child = await a_subworkflow_parent(engine_worker)
    described = await engine_worker.client.get_workflow_handle(f"run-{child}").describe()
    assert described.workflow_type == "wf"


@recording
async def test_record_the_starts_of_named_runs(engine_worker: Engine) -> None:
    tick, _ = await a_scheduled_tick(engine_worker)
    parent, _ = await a_subworkflow_parent(engine_worker)
    PATHS.mkdir(parents=True, exist_ok=True)
    for name, handle in (("scheduled_run_named", tick), ("subworkflow_parent_named", parent)):
        history = await handle.fetch_history()
        (PATHS / f"{name}.json").write_text(history.to_json())


@recording
async def test_record_a_named_run_and_a_cancellations_escalation(engine_worker: Engine) -> None:
    named = await engine_worker.start(
        [{"id": "greet", "type": "set", "values": {"hello": "{{ trigger.name }}"}}],
        {"name": "Ada"},
        workflow_type="Greet new signups",
    )
    assert (await named.result()).status == "SUCCESS"
    waiting = await engine_worker.start([{"id": "nap", "type": "delay", "seconds": 3600}])
    await waiting.cancel()
    execution_id = waiting.id.removeprefix("run-")
    escalation: WorkflowHandle[object, object] = await engine_worker.client.start_workflow(
        CANCEL_WORKFLOW,
        CancelRequest(execution_id, grace_seconds=1),
        id=f"cancel-{execution_id}",
        task_queue=engine_worker.task_queue,
    )
    await escalation.result()
    PATHS.mkdir(parents=True, exist_ok=True)
    for name, handle in (("named_run", named), ("cancel_escalation", escalation)):
        history = await handle.fetch_history()
        (PATHS / f"{name}.json").write_text(history.to_json())
