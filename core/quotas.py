"""The monthly execution quota (a workspace's `maxExecutions`), counted in Redis per calendar month.

The counter is rebuilt from PostgreSQL when Redis lost it (restart without persistence, eviction), so a
lost key never resets anyone's quota to zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import LimitExceeded
from core.models.tables import WORKFLOW_EXECUTIONS as EXECUTIONS
from core.models.tables import WORKFLOWS
from core.outages import best_effort
from core.redis_keys import RedisKeys

# One round trip: -1 when the counter is missing (to rebuild), 0 when the quota is used up, else the count.
TAKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local used = redis.call('INCR', KEYS[1])
if used > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return used
"""


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


class ExecutionQuota:
    def __init__(self, engine: AsyncEngine, redis: Redis, keys: RedisKeys) -> None:
        self._engine = engine
        self._redis = redis
        self._keys = keys
        self._take = redis.register_script(TAKE)

    def key(self, workspace_id: str, start: datetime) -> str:
        return self._keys.execution_quota(workspace_id, f"{start:%Y-%m}")

    async def used(self, workspace_id: str, now: datetime | None = None) -> int:
        start = month_start(now or datetime.now(UTC))
        key = self.key(workspace_id, start)
        value = await self._redis.get(key)
        if value is None:
            await self._rebuild(workspace_id, start, key)
            value = await self._redis.get(key)
        return int(value or 0)

    async def take(self, workspace_id: str, limit: int, now: datetime | None = None) -> None:
        """Counts one execution; refuses (LimitExceeded) when the month's quota is used up."""
        start = month_start(now or datetime.now(UTC))
        key = self.key(workspace_id, start)
        taken = await best_effort(self._take(keys=[key], args=[limit]), None, "the execution quota")
        if taken is None:
            # Redis out of reach: count in PostgreSQL instead (slower, as exact); the counter is rebuilt
            # from PostgreSQL once Redis is back, should it have lost this month's count.
            taken = 1 if await self._count(workspace_id, start) < limit else 0
        if taken == -1:  # Redis lost the month's count: rebuild it from PostgreSQL, then count
            await self._rebuild(workspace_id, start, key)
            taken = await self._take(keys=[key], args=[limit])
        if taken == 0:
            raise LimitExceeded(
                f"the workspace ran its {limit} executions this month (maxExecutions); "
                f"it resets on {next_month(start):%Y-%m-%d}, or upgrade the plan"
            )

    async def _rebuild(self, workspace_id: str, start: datetime, key: str) -> None:
        count = await self._count(workspace_id, start)
        expires = int((next_month(start) - datetime.now(UTC)).total_seconds()) + 86400
        await self._redis.set(key, count, nx=True, ex=max(expires, 60))

    async def _count(self, workspace_id: str, start: datetime) -> int:
        query = (
            select(func.count())
            .select_from(EXECUTIONS.join(WORKFLOWS, WORKFLOWS.c.id == EXECUTIONS.c.workflow_id))
            .where(WORKFLOWS.c.workspace_id == workspace_id, EXECUTIONS.c.created_at >= start)
        )
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())
