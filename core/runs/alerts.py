"""Error workflows: a run that ends FAILED or TIMEOUT starts its workflow's error workflow (or the
workspace's, when the workflow names none) with the failure's summary as its trigger, like n8n's Error
Trigger or Zapier Manager's alerts, but durably and without floods:

- once per failed run: the alert's execution id is derived from the failed run's, so the worker's retry
  of the record-keeping activity (a crash, an outage) starts nothing twice;
- never a loop: an error workflow's own run that fails alerts no one, and a workflow is not its own error
  workflow;
- the same failure of the same workflow (its error text) alerts once per ALERT_WINDOW_SECONDS; the repeats
  in the window are counted, and the next alert says how many there were (`count`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.contract import ExecutionFinished
from core.errors import BatonError, LimitExceeded
from core.models.enums import FAILED_STATUSES
from core.models.tables import STEP_EXECUTIONS, WORKFLOW_EXECUTIONS, WORKFLOWS, WORKSPACES
from core.redis_keys import RedisKeys
from core.runs.service import RunService
from core.runs.starts import StartRequest
from core.settings import Settings

logger = logging.getLogger("baton.alerts")
ALERTS = uuid.UUID("0b8e4d2a-7c1f-4a3e-9d5b-6f2a8c4e1d97")


def alert_execution_id(failed_execution_id: str) -> str:
    return str(uuid.uuid5(ALERTS, failed_execution_id))


class FailureAlerts:
    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        keys: RedisKeys,
        settings: Settings,
        run_service: Callable[[], Awaitable[RunService]],
    ) -> None:
        self._engine, self._redis, self._keys, self._settings = engine, redis, keys, settings
        self._run_service = run_service

    async def after(self, finished: ExecutionFinished) -> str | None:
        """Starts the error workflow of a run that ended FAILED or TIMEOUT; the alert's execution id, or None
        when there is nothing to alert (a success, no error workflow, an alert's own failure, a repeat)."""
        if finished.status not in FAILED_STATUSES:
            return None
        found = await self._targets(finished.execution_id)
        if found is None:
            return None
        context, name, workspace_id, own, fallback = found
        target = own or fallback
        if target is None or target == finished.workflow_id or (context or {}).get("alertOf"):
            return None
        alert_id = alert_execution_id(finished.execution_id)
        count = await self._claim(finished, alert_id)
        if count is None:
            return None
        runs = await self._run_service()
        try:
            version = await runs.published_version(target)
        except BatonError as exc:  # not published, or gone: nothing to start
            logger.warning(
                "the error workflow %s of workflow %s cannot run: %s", target, finished.workflow_id, exc
            )
            return None
        summary = self._summary(
            finished, name, workspace_id, count, await self._failed_step(finished.execution_id)
        )
        try:
            await runs.start(
                StartRequest(
                    version, summary, trigger_type="MANUAL", execution_id=alert_id, idempotent=True,
                    alert_of=finished.execution_id,
                )
            )  # fmt: skip
        except LimitExceeded as exc:  # the plan's runs are used up: an alert is a run like any other
            logger.warning("the alert of execution %s was not started: %s", finished.execution_id, exc)
            return None
        return alert_id

    async def _targets(self, execution_id: str) -> tuple[Any, str, str, str | None, str | None] | None:
        query = (
            select(
                WORKFLOW_EXECUTIONS.c.context,
                WORKFLOWS.c.name,
                WORKFLOWS.c.workspace_id,
                WORKFLOWS.c.error_workflow_id,
                WORKSPACES.c.error_workflow_id.label("fallback"),
            )
            .join(WORKFLOWS, WORKFLOWS.c.id == WORKFLOW_EXECUTIONS.c.workflow_id)
            .join(WORKSPACES, WORKSPACES.c.id == WORKFLOWS.c.workspace_id)
            .where(WORKFLOW_EXECUTIONS.c.id == execution_id)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return row.context, row.name, row.workspace_id, row.error_workflow_id, row.fallback

    async def _failed_step(self, execution_id: str) -> dict[str, Any] | None:
        """The run's last failed step (its rows are all written by then); None when a `stop` step ended it."""
        steps = STEP_EXECUTIONS.c
        query = (
            select(steps.step_id, steps.error, steps.status)
            .where(steps.execution_id == execution_id, steps.status.in_(list(FAILED_STATUSES)))
            .order_by(steps.completed_at.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return {"id": row.step_id, "error": row.error} if row is not None else None

    async def _claim(self, finished: ExecutionFinished, alert_id: str) -> int | None:
        """The count to report when this failure alerts now; None when it is a repeat within the window
        (counted for the next alert). A retried call for the same run claims again what it claimed."""
        digest = hashlib.sha256(f"{finished.workflow_id}\n{finished.error or ''}".encode()).hexdigest()[:16]
        key = self._keys.failure_alert(finished.workflow_id, digest)
        counter = self._keys.failure_alert_count(finished.workflow_id, digest)
        window = int(self._settings.alert_window_seconds * 1000)
        if await self._redis.set(key, alert_id, nx=True, px=window):
            repeats = await self._redis.getdel(counter)
            return 1 + int(repeats or 0)
        holder = await self._redis.get(key)
        if holder is not None and (holder.decode() if isinstance(holder, bytes) else holder) == alert_id:
            return 1  # this run's alert, claimed before a retry: start it (idempotently)
        await self._redis.incr(counter)
        await self._redis.pexpire(counter, window * 10)
        return None

    def _summary(
        self,
        finished: ExecutionFinished,
        name: str,
        workspace_id: str,
        count: int,
        failed: dict[str, Any] | None,
    ) -> dict[str, Any]:
        base = self._settings.public_base_url.rstrip("/")
        return {
            "workflow": {"id": finished.workflow_id, "name": name},
            "execution": {
                "id": finished.execution_id,
                "status": finished.status,
                "completedAt": finished.completed_at,
                "url": f"{base}/api/v1/workspaces/{workspace_id}/executions/{finished.execution_id}",
            },
            "failedStep": failed,
            "error": finished.error,
            "count": count,
        }
