"""The activities behind schedules and pollers: preparing a scheduled run, and polling a trigger.

- `baton.schedule_fire` takes the seed's lock (`SET lock:workflow:{id}:schedule "1" EX 60 NX`), checks the
  workflow is still an active SCHEDULE workflow, counts the quota and writes the PENDING execution row. The
  execution id derives from the tick's Temporal workflow id, so a retried activity prepares the same run.
  `baton.schedule_release` drops the lock once the run has started.
- `baton.poll` calls the trigger's poll function with the stored cursor, starts one run per item id not
  seen before (execution id derived from the item id: a retried poll cannot start it twice), and only
  then saves the cursor and the bounded set of seen ids in `poll_states`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.action_terms import to_application_error
from activities.connections import WorkerCredentials
from core.contract import (
    FIRE_DEBOUNCED_ACTIVITY,
    LEGACY_POLL_ACTIVITY,
    LEGACY_SCHEDULE_RELEASE_ACTIVITY,
    POLL_TRIGGER_ACTIVITY,
    RELEASE_SCHEDULE_ACTIVITY,
    SCHEDULE_FIRE_ACTIVITY,
    DebounceFire,
    FireDecision,
    PollOutcome,
    ScheduledFire,
    TriggerRef,
    scheduled_execution_id,
)
from core.definition.triggers import PollingTriggerConfig
from core.errors import LimitExceeded, NotFound
from core.models import TriggerType
from core.models.tables import POLL_STATES
from core.published import PublishedTrigger, published_trigger
from core.redis_keys import RedisKeys
from core.runs import RunService, StartRequest
from core.settings import Settings
from integrations.catalogue import get_integration, get_trigger
from integrations.sdk import ActionError

logger = logging.getLogger("baton.triggers")

POLLED_NAMESPACE = uuid.UUID("a7e2d9c4-1b3f-4e5a-8c6d-2f0b9e7a1c35")
LOCK_SECONDS = 60
LOCK_WAIT_SECONDS = 2.0
MIN_SEEN = 1000


def polled_execution_id(workflow_id: str, item_id: str) -> str:
    return str(uuid.uuid5(POLLED_NAMESPACE, f"{workflow_id}\n{item_id}"))


class TriggerActivities:
    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        keys: RedisKeys,
        runs: RunService,
        http: httpx.AsyncClient,
        credentials: WorkerCredentials,
        settings: Settings,
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._keys = keys
        self._runs = runs
        self._http = http
        self._credentials = credentials
        self._settings = settings

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        return [
            self.schedule_fire,
            self.release_schedule,
            self.poll_trigger,
            self.schedule_release,
            self.poll,
            self.fire_debounced,
        ]

    @activity.defn(name=FIRE_DEBOUNCED_ACTIVITY)
    async def fire_debounced(self, fire: DebounceFire) -> str:
        """Starts the run of a debounced burst under the id its debouncer chose (a retry starts nothing
        more); the last call's trigger, with `debounce: {events, firstAt, lastAt}` beside it. A workflow
        unpublished or deactivated since, or a used-up quota, runs nothing (logged)."""
        trigger = fire.trigger if isinstance(fire.trigger, dict) else {"body": fire.trigger}
        data = {
            **trigger,
            "debounce": {"events": fire.events, "firstAt": fire.first_at, "lastAt": fire.last_at},
        }
        try:
            target = await self._runs.published_version(fire.workflow_id)
            await self._runs.start(
                StartRequest(
                    target, data, trigger_type="WEBHOOK", execution_id=fire.execution_id, idempotent=True
                )
            )
        except (NotFound, LimitExceeded) as exc:
            logger.warning("debounced burst of workflow %s not run: %s", fire.workflow_id, exc)
            return ""
        return fire.execution_id

    async def _published(self, workflow_id: str) -> PublishedTrigger | None:
        async with self._engine.connect() as connection:
            return await published_trigger(connection, workflow_id)

    # ------------------------------------------------------------------ schedules

    @activity.defn(name=SCHEDULE_FIRE_ACTIVITY)
    async def schedule_fire(self, fire: ScheduledFire) -> FireDecision:
        published = await self._published(fire.workflow_id)
        if (
            published is None
            or not published.is_active
            or published.trigger_type != TriggerType.SCHEDULE.value
        ):
            return FireDecision(skipped="the workflow is no longer an active SCHEDULE workflow")
        lock = self._keys.schedule_lock(fire.workflow_id)
        if not await self._take_lock(lock):
            logger.warning("schedule tick %s skipped: another start holds %s", fire.tick_id, lock)
            return FireDecision(skipped=f"another start of this workflow holds {lock}")
        try:
            target = await self._runs.published_version(fire.workflow_id)
            run = await self._runs.prepare(
                StartRequest(
                    target,
                    {"scheduledAt": fire.scheduled_at},
                    trigger_type=TriggerType.SCHEDULE.value,
                    execution_id=scheduled_execution_id(fire.tick_id or str(activity.info().workflow_id)),
                    idempotent=True,
                )
            )
        except (LimitExceeded, NotFound) as exc:
            await self._redis.delete(lock)
            logger.warning("schedule tick %s of workflow %s skipped: %s", fire.tick_id, fire.workflow_id, exc)
            return FireDecision(skipped=str(exc))
        except BaseException:
            await self._redis.delete(lock)
            raise
        return FireDecision(run=run)

    async def _take_lock(self, lock: str) -> bool:
        """The seed's lock, held from a tick's decision to its run's start (milliseconds): a tick that finds
        it taken waits up to LOCK_WAIT_SECONDS for it (a backfill starts its slots at once), then skips."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not await self._redis.set(lock, "1", ex=LOCK_SECONDS, nx=True):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    @activity.defn(name=RELEASE_SCHEDULE_ACTIVITY)
    async def release_schedule(self, trigger: TriggerRef) -> None:
        await self._redis.delete(self._keys.schedule_lock(trigger.workflow_id))

    @activity.defn(name=LEGACY_SCHEDULE_RELEASE_ACTIVITY)
    async def schedule_release(self, workflow_id: str) -> None:
        """`release_schedule` as ticks started before patch `typed-activities` call it."""
        await self.release_schedule(TriggerRef(workflow_id))

    # ------------------------------------------------------------------ polling

    @activity.defn(name=LEGACY_POLL_ACTIVITY)
    async def poll(self, workflow_id: str) -> PollOutcome:
        """`poll_trigger` as pollers started before patch `typed-activities` call it."""
        return await self.poll_trigger(TriggerRef(workflow_id))

    @activity.defn(name=POLL_TRIGGER_ACTIVITY)
    async def poll_trigger(self, trigger: TriggerRef) -> PollOutcome:
        workflow_id = trigger.workflow_id
        published = await self._published(workflow_id)
        if (
            published is None
            or not published.is_active
            or published.trigger_type != TriggerType.POLLING.value
        ):
            return PollOutcome(keep_polling=False, interval_seconds=0)
        config = PollingTriggerConfig.model_validate(published.trigger_config)
        spec = get_trigger(config.trigger)
        interval = float(
            max(
                config.polling_interval_seconds or (spec.polling_interval if spec else None) or 300,
                self._settings.min_polling_interval_seconds,
            )
        )
        if spec is None or spec.poll is None:
            return await self._poll_failed(
                workflow_id, config.trigger, interval, f"{config.trigger} cannot poll"
            )
        try:
            trigger_config = spec.config_model.model_validate(config.config)
        except ValidationError as exc:
            return await self._poll_failed(workflow_id, config.trigger, interval, f"invalid config: {exc}")
        credentials: dict[str, Any] = {}
        if config.connection_id:
            credentials = await self._credentials.load(config.connection_id, published.workspace_id)
        state = await self._state(workflow_id)
        # no baseline yet (first poll, or every poll so far failed), or another trigger than last time
        fresh = state is None or state.trigger_id != config.trigger or state.baseline_at is None
        integration = get_integration(spec.integration_id)
        assert integration is not None
        context = integration.context(
            credentials,
            self._http,
            logging.getLogger(f"baton.trigger.{config.trigger}"),
            base_urls=self._settings.integration_base_urls,
        )
        try:
            result = await spec.poll(
                trigger_config, context, {} if fresh or state is None else dict(state.cursor)
            )
        except ActionError as exc:
            if exc.retryable:
                raise to_application_error(exc) from exc
            return await self._poll_failed(workflow_id, config.trigger, interval, exc.message)
        seen: list[str] = [] if fresh or state is None else [str(i) for i in state.seen_ids]
        known = set(seen)
        baseline = fresh and not config.fire_existing
        new = [] if baseline else [item for item in result.items if item.id not in known]
        fired: list[str] = []
        if new:
            target = await self._runs.published_version(workflow_id)
            for item in new:
                execution_id = polled_execution_id(workflow_id, item.id)
                try:
                    await self._runs.start(
                        StartRequest(
                            target,
                            item.data,
                            trigger_type="POLLING",
                            execution_id=execution_id,
                            idempotent=True,
                        )
                    )
                except LimitExceeded as exc:
                    logger.warning("polled item %s of workflow %s not run: %s", item.id, workflow_id, exc)
                    continue
                fired.append(execution_id)
                activity.heartbeat(len(fired))
        for item in result.items:
            if item.id not in known:
                seen.append(item.id)
                known.add(item.id)
        keep = max(MIN_SEEN, 2 * len(result.items))
        await self._save(
            workflow_id,
            config.trigger,
            cursor=result.cursor,
            seen_ids=seen[-keep:],
            baseline=fresh,
            fired=len(fired),
            error=None,
        )
        return PollOutcome(keep_polling=True, interval_seconds=interval, fired=fired, baseline=baseline)

    async def _poll_failed(self, workflow_id: str, trigger: str, interval: float, error: str) -> PollOutcome:
        """A poll that cannot succeed until the user changes something: kept on the state, poller goes on."""
        logger.warning("poll of workflow %s failed: %s", workflow_id, error)
        state = await self._state(workflow_id)
        await self._save(
            workflow_id,
            trigger,
            cursor=dict(state.cursor) if state else {},
            seen_ids=list(state.seen_ids) if state else [],
            baseline=False,
            fired=0,
            error=error,
        )
        return PollOutcome(keep_polling=True, interval_seconds=interval, error=error)

    async def _state(self, workflow_id: str) -> Any:
        async with self._engine.connect() as connection:
            return (
                await connection.execute(select(POLL_STATES).where(POLL_STATES.c.workflow_id == workflow_id))
            ).first()

    async def _save(
        self,
        workflow_id: str,
        trigger: str,
        *,
        cursor: dict[str, Any],
        seen_ids: list[str],
        baseline: bool,
        fired: int,
        error: str | None,
    ) -> None:
        now = datetime.now(UTC)
        values = {
            "trigger_id": trigger,
            "cursor": cursor,
            "seen_ids": seen_ids,
            "last_polled_at": now,
            "last_error": error,
        }
        statement = pg_insert(POLL_STATES).values(
            workflow_id=workflow_id, fired_total=fired, baseline_at=now if baseline else None, **values
        )
        update = {**values, "fired_total": POLL_STATES.c.fired_total + fired}
        if baseline:
            update["baseline_at"] = now
        async with self._engine.begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(index_elements=["workflow_id"], set_=update)
            )
