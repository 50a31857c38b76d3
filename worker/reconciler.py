"""The worker's reconciler of runs closed behind Baton's back: every RECONCILE_INTERVAL_SECONDS it lists the
runs Temporal terminated or timed out since its last look (core.runs.closing: a visibility query that only
such interventions match) and settles those whose row still says PENDING or RUNNING (activities.closing),
so they show their true end within a round or two. One worker looks per round (a Redis lock); the first
round after a start looks back RECONCILE_LOOKBACK_HOURS, in case runs were closed while no worker ran."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.closing import RunClosing
from core.contract import SettleRequest
from core.redis_keys import RedisKeys
from core.runs.closing import closed_behind, still_open
from core.settings import Settings

logger = logging.getLogger("baton.reconciler")


class ClosedRunsReconciler:
    def __init__(
        self,
        client: Client,
        engine: AsyncEngine,
        redis: Redis,
        closing: RunClosing,
        settings: Settings,
    ) -> None:
        self._client = client
        self._engine = engine
        self._redis = redis
        self._closing = closing
        self._interval = settings.reconcile_interval_seconds
        self._lock = RedisKeys(settings.redis_key_prefix).closed_runs_lock()
        self._since = datetime.now(UTC) - timedelta(hours=settings.reconcile_lookback_hours)

    async def run(self) -> None:
        """Rounds until cancelled; a round that fails is logged and tried again next time."""
        while True:
            try:
                await self.round()
            except Exception:
                logger.exception("could not reconcile runs closed in Temporal; trying again")
            await asyncio.sleep(self._interval)

    async def round(self) -> list[str]:
        """One look, when no other worker took this round; the execution ids it settled."""
        began = datetime.now(UTC)
        taken = await self._redis.set(self._lock, "1", nx=True, px=max(int(self._interval * 900), 1))
        settled = await self.settle_closed(self._since) if taken else []
        # Visibility lags behind the close a little (more on Elasticsearch): the next look overlaps this one.
        self._since = began - timedelta(seconds=2 * self._interval + 10)
        return settled

    async def settle_closed(self, since: datetime) -> list[str]:
        settled: list[str] = []
        for execution_id in await still_open(self._engine, await closed_behind(self._client, since)):
            done = await self._closing.settle_run(SettleRequest(execution_id))
            if done.status is not None:
                logger.info(
                    "run %s was closed in Temporal: recorded %s (%s)", execution_id, done.status, done.error
                )
                settled.append(execution_id)
        return settled
