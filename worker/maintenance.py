"""The maintenance workflow its daily schedule starts: one retention activity, retried, heartbeating."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.maintenance import MaintenanceActivities
from core.contract import MAINTENANCE_WORKFLOW, TYPED_ACTIVITIES_PATCH, RetentionRequest


@workflow.defn(name=MAINTENANCE_WORKFLOW)
class BatonMaintenance:
    @workflow.run
    async def run(self, dry_run: bool = False) -> dict[str, Any]:
        options: dict[str, Any] = {
            "start_to_close_timeout": timedelta(hours=6),
            "heartbeat_timeout": timedelta(minutes=10),
            "retry_policy": RetryPolicy(
                initial_interval=timedelta(minutes=1),
                maximum_interval=timedelta(minutes=30),
                maximum_attempts=5,
            ),
            "summary": "apply the data retention policy",
        }
        if workflow.patched(TYPED_ACTIVITIES_PATCH):
            applied = await workflow.execute_activity_method(
                MaintenanceActivities.apply_retention, RetentionRequest(dry_run), **options
            )
            report: dict[str, Any] = applied.report
        else:
            report = await workflow.execute_activity_method(
                MaintenanceActivities.retention, dry_run, **options
            )
        return report
