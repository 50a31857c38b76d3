"""The retention activity the maintenance workflow runs (heartbeating each step it takes)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from core.contract import (
    APPLY_RETENTION_ACTIVITY,
    LEGACY_RETENTION_ACTIVITY,
    RetentionReport,
    RetentionRequest,
)
from core.logstore import LogStore
from core.ops.retention import Retention
from core.settings import Settings

logger = logging.getLogger("baton.retention")


class MaintenanceActivities:
    def __init__(self, engine: AsyncEngine, store: LogStore, settings: Settings) -> None:
        self._engine = engine
        self._store = store
        self._settings = settings

    @activity.defn(name=APPLY_RETENTION_ACTIVITY)
    async def apply_retention(self, request: RetentionRequest) -> RetentionReport:
        def progress(line: str) -> None:
            logger.info("retention: %s", line)
            activity.heartbeat(line)

        retention = Retention(self._engine, self._store, self._settings, progress)
        return RetentionReport((await retention.run(dry_run=request.dry_run)).as_dict())

    @activity.defn(name=LEGACY_RETENTION_ACTIVITY)
    async def retention(self, dry_run: bool) -> dict[str, Any]:
        """`apply_retention` as maintenance runs started before patch `typed-activities` call it."""
        return (await self.apply_retention(RetentionRequest(dry_run))).report

    def activities(self) -> list[Any]:
        return [self.apply_retention, self.retention]
