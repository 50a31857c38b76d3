"""The daily maintenance run: a Temporal Schedule (`baton-maintenance`) starting the maintenance workflow,
which applies the retention policy (core.ops.retention) in an activity."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)

from core.contract import MAINTENANCE_WORKFLOW
from core.settings import Settings
from core.temporal import upsert_schedule

MAINTENANCE_SCHEDULE_ID = "baton-maintenance"


def maintenance_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MAINTENANCE_WORKFLOW,
            False,  # not a dry run
            id="baton-maintenance-run",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[settings.retention_cron], time_zone_name="UTC"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="Baton's data retention (RETENTION_CRON)"),
    )


async def ensure_maintenance_schedule(client: Client, settings: Settings) -> str:
    """Creates the daily schedule, or brings an existing one to the configured cron and task queue.
    Returns what it did ("created" or "updated")."""
    return await upsert_schedule(client, MAINTENANCE_SCHEDULE_ID, maintenance_schedule(settings))
