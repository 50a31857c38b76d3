"""The retention activity the maintenance workflow runs (heartbeating each step it takes)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from core.contract import RETENTION_ACTIVITY
from core.logstore import LogStore
from core.ops.retention import Retention
from core.settings import Settings

logger = logging.getLogger("baton.retention")


class MaintenanceActivities:
    def __init__(self, engine: AsyncEngine, store: LogStore, settings: Settings) -> None:
        self._engine = engine
        self._store = store
        self._settings = settings

    @activity.defn(name=RETENTION_ACTIVITY)
    async def retention(self, dry_run: bool) -> dict[str, Any]:
        def progress(line: str) -> None:
            logger.info("retention: %s", line)
            activity.heartbeat(line)

        report = await Retention(self._engine, self._store, self._settings, progress).run(dry_run=dry_run)
        return report.as_dict()

    def activities(self) -> list[Any]:
        return [self.retention]
