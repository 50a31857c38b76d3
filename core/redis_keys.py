"""The seed's Redis keys, spelled once (e.g. `lock:workflow:{id}:schedule`)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from core.settings import Settings


@dataclass(frozen=True)
class RedisKeys:
    """Every key Baton writes, under an optional prefix so instances and test runs can share a server."""

    prefix: str = ""

    def schedule_lock(self, workflow_id: str) -> str:
        return f"{self.prefix}lock:workflow:{workflow_id}:schedule"

    def rate_limit(self, integration_id: str, connection_id: str) -> str:
        return f"{self.prefix}ratelimit:{integration_id}:{connection_id}"

    def integration_cache(self, integration_id: str) -> str:
        return f"{self.prefix}integration:{integration_id}"

    def workflow_cache(self, workflow_id: str) -> str:
        return f"{self.prefix}workflow:{workflow_id}"

    def execution_channel(self, execution_id: str) -> str:
        return f"{self.prefix}execution:{execution_id}"

    # Baton's own keys (not in the seed).
    def workspace_channel(self, workspace_id: str) -> str:
        """Every live event of a workspace's runs (the dashboards' stream)."""
        return f"{self.prefix}workspace:{workspace_id}:executions"

    def webhook_cache(self, token: str) -> str:
        return f"{self.prefix}webhook:{token}"

    def webhook_rate_limit(self, token: str) -> str:
        """Calls to one webhook in the current minute (WEBHOOK_RATE_LIMIT_PER_MINUTE)."""
        return f"{self.prefix}ratelimit:webhook:{token}"

    def webhook_calls(self) -> str:
        return f"{self.prefix}webhook-stats:calls"

    def webhook_last_called(self) -> str:
        return f"{self.prefix}webhook-stats:last-called"

    def action_result(self, idempotency_key: str) -> str:
        """The output of a step attempt that acted, so its retries do not act again."""
        return f"{self.prefix}idempotency:action:{idempotency_key}"

    def connection_refresh_lock(self, connection_id: str) -> str:
        return f"{self.prefix}lock:connection:{connection_id}:refresh"

    def webhook_idempotency(self, webhook_id: str, key_hash: str) -> str:
        return f"{self.prefix}idempotency:webhook:{webhook_id}:{key_hash}"


def create_redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)
