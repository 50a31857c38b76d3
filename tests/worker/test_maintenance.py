"""The maintenance workflow runs the retention activity on the worker, and its daily schedule is armed
with the configured cron (created once, then updated in place)."""

from __future__ import annotations

import uuid

from temporalio.client import Client, ScheduleHandle

from core.contract import MAINTENANCE_WORKFLOW
from core.ops.maintenance import MAINTENANCE_SCHEDULE_ID, ensure_maintenance_schedule
from core.settings import Settings
from tests.engine import Engine
from tests.factories import create_workflow


async def test_the_maintenance_workflow_applies_retention_on_the_worker(engine_worker: Engine) -> None:
    workflow_id = await create_workflow(engine_worker.db, [{"id": "a", "type": "set", "values": {}}])
    await engine_worker.db.execute(
        "INSERT INTO workflow_executions (workflow_id, status, trigger_data, created_at) "
        "VALUES ($1, 'SUCCESS', '{}', now() - interval '100 days'), ($1, 'SUCCESS', '{}', now())",
        workflow_id,
    )
    report = await engine_worker.client.execute_workflow(
        MAINTENANCE_WORKFLOW, False, id=f"maintenance-{uuid.uuid4().hex}", task_queue=engine_worker.task_queue
    )
    assert report["dryRun"] is False
    assert report["removed"]["workflow_executions (FREE, 90 days)"] == 1
    assert await engine_worker.db.fetchval("SELECT count(*) FROM workflow_executions") == 1


async def daily_at(handle: ScheduleHandle) -> tuple[int, int]:
    """(hour, minute) of the schedule's calendar (Temporal stores a cron expression as a calendar)."""
    calendar = (await handle.describe()).schedule.spec.calendars[0]
    return calendar.hour[0].start, calendar.minute[0].start


async def test_the_daily_schedule_is_created_then_updated_in_place(
    temporal_client: Client, settings: Settings
) -> None:
    handle = temporal_client.get_schedule_handle(MAINTENANCE_SCHEDULE_ID)
    try:
        first = await ensure_maintenance_schedule(temporal_client, settings)
        if first == "updated":  # left by an earlier run against a shared server
            await handle.delete()
            first = await ensure_maintenance_schedule(temporal_client, settings)
        assert first == "created"
        assert await daily_at(handle) == (3, 17)  # RETENTION_CRON's default: "17 3 * * *"
        changed = settings.model_copy(update={"retention_cron": "5 4 * * *"})
        assert await ensure_maintenance_schedule(temporal_client, changed) == "updated"
        assert await daily_at(handle) == (4, 5)
    finally:
        await handle.delete()
