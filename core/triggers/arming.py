"""Arming triggers: keeping Temporal (schedules, pollers) and the webhooks table in step with PostgreSQL.

One idempotent operation, `sync(workflow_id)`, reads what PostgreSQL says (is the workflow active, what
trigger does its latest published version have) and makes the rest agree:

| published trigger, active | webhook row | Temporal Schedule `schedule-{id}` | poller `poll-{id}` |
|---|---|---|---|
| WEBHOOK                   | active      | deleted                           | terminated         |
| SCHEDULE                  | inactive    | created/updated, unpaused         | terminated         |
| POLLING                   | inactive    | deleted                           | running (poked)    |
| MANUAL, or inactive       | inactive    | paused (if SCHEDULE) or deleted   | terminated         |
| workflow deleted          | (cascade)   | deleted                           | terminated         |

The API calls it after each publish/activate/deactivate/delete commits; `reconcile()` calls it for every
workflow PostgreSQL or Temporal knows of, repairing drift after a crash between the two writes (`baton
reconcile`, and each worker start).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from core.contract import (
    POKE_SIGNAL,
    POLLER_WORKFLOW,
    SCHEDULED_RUN_WORKFLOW,
    PollerInput,
    ScheduledFire,
    poller_id,
    schedule_id,
    scheduled_run_id,
)
from core.definition.triggers import ScheduleTriggerConfig
from core.models import TriggerType
from core.models.tables import WEBHOOKS, WORKFLOWS, WORKSPACES
from core.published import published_trigger
from core.settings import Settings
from core.temporal import TRIGGER_TYPE, WORKFLOW_ID, WORKSPACE_ID, upsert_schedule
from core.triggers.webhooks import Webhooks

logger = logging.getLogger("baton.arming")

OVERLAP = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}


@dataclass(frozen=True)
class Armed:
    """What PostgreSQL says should be armed for one workflow (None: nothing, the workflow is gone)."""

    workflow_id: str
    workspace_id: str | None
    trigger_type: str | None  # of the latest published version, when the workflow is active
    schedulable: bool  # has a published SCHEDULE version (so a deactivation pauses rather than deletes)
    trigger_config: dict[str, Any]
    name: str = ""  # the workflow's (the Temporal Web UI's summary of its poller)


def describe(armed: Armed) -> str:
    """One line for `baton reconcile`'s report."""
    if armed.workspace_id is None:
        return f"workflow {armed.workflow_id}: deleted; its schedule and poller removed"
    if armed.trigger_type is None:
        paused = " (schedule paused)" if armed.schedulable else ""
        return f"workflow {armed.workflow_id}: inactive; trigger disarmed{paused}"
    return f"workflow {armed.workflow_id}: {armed.trigger_type} trigger armed"


class TriggerArming:
    def __init__(self, engine: AsyncEngine, client: Client, settings: Settings, webhooks: Webhooks) -> None:
        self._engine = engine
        self._client = client
        self._settings = settings
        self._webhooks = webhooks

    async def wanted(self, workflow_id: str) -> Armed:
        async with self._engine.connect() as connection:
            published = await published_trigger(connection, workflow_id)
        if published is None:
            return Armed(workflow_id, None, None, False, {})
        return Armed(
            workflow_id,
            published.workspace_id,
            published.trigger_type if published.is_active else None,
            published.trigger_type == TriggerType.SCHEDULE.value,
            published.trigger_config,
            published.name,
        )

    async def sync(self, workflow_id: str) -> Armed:
        """Makes the webhook row, the Temporal Schedule and the poller of one workflow match PostgreSQL."""
        wanted = await self.wanted(workflow_id)
        await self._sync_webhook(wanted)
        await self._sync_schedule(wanted)
        await self._sync_poller(wanted)
        return wanted

    async def sync_quietly(self, *workflow_ids: str) -> None:
        """`sync` for calls whose change has already committed: a failure is logged, not raised, and the
        next `baton reconcile` (or worker start) repairs it."""
        for workflow_id in workflow_ids:
            try:
                await self.sync(workflow_id)
            except Exception:
                logger.exception(
                    "could not arm the trigger of workflow %s; `baton reconcile` or the next worker start "
                    "will",
                    workflow_id,
                )

    # ------------------------------------------------------------------ webhooks

    async def _sync_webhook(self, wanted: Armed) -> None:
        if wanted.workspace_id is None:
            return  # the rows went with the workflow (ON DELETE CASCADE); the API dropped their cache
        async with self._engine.begin() as connection:
            if wanted.trigger_type == TriggerType.WEBHOOK.value:
                tokens = [await self._webhooks.arm(connection, wanted.workflow_id)]
            else:
                tokens = await self._webhooks.disarm(connection, wanted.workflow_id)
        await self._webhooks.forget(*tokens)

    # ------------------------------------------------------------------ schedules

    def schedule_for(self, wanted: Armed, config: ScheduleTriggerConfig) -> Schedule:
        spec = (
            ScheduleSpec(cron_expressions=[config.cron], time_zone_name=config.timezone)
            if config.cron
            else ScheduleSpec(
                intervals=[ScheduleIntervalSpec(every=timedelta(seconds=config.interval_seconds or 60))],
                time_zone_name=config.timezone,
            )
        )
        return Schedule(
            action=ScheduleActionStartWorkflow(
                SCHEDULED_RUN_WORKFLOW,
                ScheduledFire(wanted.workflow_id),
                id=scheduled_run_id(wanted.workflow_id),
                task_queue=self._settings.temporal_task_queue,
                typed_search_attributes=self._search_attributes(wanted, TriggerType.SCHEDULE.value),
            ),
            spec=spec,
            policy=SchedulePolicy(
                overlap=OVERLAP[config.overlap],
                catchup_window=timedelta(seconds=config.catchup_window_seconds),
            ),
            state=ScheduleState(note="armed by Baton"),
        )

    @staticmethod
    def _search_attributes(wanted: Armed, trigger_type: str) -> TypedSearchAttributes:
        return TypedSearchAttributes(
            [
                SearchAttributePair(WORKSPACE_ID, wanted.workspace_id or ""),
                SearchAttributePair(WORKFLOW_ID, wanted.workflow_id),
                SearchAttributePair(TRIGGER_TYPE, trigger_type),
            ]
        )

    async def _sync_schedule(self, wanted: Armed) -> None:
        handle = self._client.get_schedule_handle(schedule_id(wanted.workflow_id))
        if wanted.trigger_type == TriggerType.SCHEDULE.value:
            schedule = self.schedule_for(wanted, ScheduleTriggerConfig.model_validate(wanted.trigger_config))
            await upsert_schedule(
                self._client,
                schedule_id(wanted.workflow_id),
                schedule,
                search_attributes=self._search_attributes(wanted, TriggerType.SCHEDULE.value),
            )
            return
        try:
            if wanted.schedulable and wanted.workspace_id is not None:
                await handle.pause(note="workflow deactivated")
            else:
                await handle.delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise

    # ------------------------------------------------------------------ pollers

    async def _sync_poller(self, wanted: Armed) -> None:
        handle = self._client.get_workflow_handle(poller_id(wanted.workflow_id))
        if wanted.trigger_type == TriggerType.POLLING.value:
            await self._client.start_workflow(
                POLLER_WORKFLOW,
                PollerInput(wanted.workflow_id),
                id=poller_id(wanted.workflow_id),
                task_queue=self._settings.temporal_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=self._search_attributes(wanted, TriggerType.POLLING.value),
                static_summary=f"{wanted.name or wanted.workflow_id} · polling trigger",
                static_details=(
                    f"Polls for workflow `{wanted.workflow_id}` (workspace `{wanted.workspace_id}`) and "
                    "starts a run for each new item"
                ),
            )
            # A running poller picks up the new version's config on its next poll; poke it to poll now.
            await handle.signal(POKE_SIGNAL)
            return
        try:
            await handle.terminate(reason="workflow deactivated, deleted or no longer polling")
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self) -> list[Armed]:
        """`sync` for every workflow that should be armed, or is armed in Temporal: after a crash between
        a commit and its Temporal call, this is what makes the two agree again."""
        async with self._engine.connect() as connection:
            active = set(
                (await connection.execute(select(WORKFLOWS.c.id).where(WORKFLOWS.c.is_active))).scalars()
            )
            workspaces = set((await connection.execute(select(WORKSPACES.c.id))).scalars())
            hooked = set(
                (
                    await connection.execute(select(WEBHOOKS.c.workflow_id).where(WEBHOOKS.c.is_active))
                ).scalars()
            )
        in_temporal: set[str] = set()
        async for listed in await self._client.list_schedules():
            workflow_id = listed.typed_search_attributes.get(WORKFLOW_ID)
            workspace_id = listed.typed_search_attributes.get(WORKSPACE_ID)
            if listed.id.startswith("schedule-") and workflow_id and workspace_id in workspaces:
                in_temporal.add(workflow_id)
        query = f"WorkflowType = '{POLLER_WORKFLOW}' AND ExecutionStatus = 'Running'"
        async for execution in self._client.list_workflows(query):
            workflow_id = execution.typed_search_attributes.get(WORKFLOW_ID)
            workspace_id = execution.typed_search_attributes.get(WORKSPACE_ID)
            if workflow_id and workspace_id in workspaces:
                in_temporal.add(workflow_id)
        return [await self.sync(workflow_id) for workflow_id in sorted(active | hooked | in_temporal)]
