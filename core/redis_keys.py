"""The seed's Redis keys, spelled once (e.g. `lock:workflow:{id}:schedule`)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from core.settings import Settings


@dataclass(frozen=True)
class RedisKeys:
    """Every key Baton writes, under an optional prefix so instances and test runs can share a server."""

    prefix: str = ""

    def closed_runs_lock(self) -> str:
        """Held by the worker that looks for runs closed behind Baton's back this round (one per round)."""
        return f"{self.prefix}lock:reconcile:closed-runs"

    def failure_alert(self, workflow_id: str, digest: str) -> str:
        """The alert of one failure of one workflow (its error's digest), held for ALERT_WINDOW_SECONDS: the
        same failure again in the window is counted, not alerted."""
        return f"{self.prefix}alert:{workflow_id}:{digest}"

    def failure_alert_count(self, workflow_id: str, digest: str) -> str:
        return f"{self.prefix}alert:{workflow_id}:{digest}:count"

    def trigger_throttle(self, workflow_id: str, key: str) -> str:
        """The prefix of a throttled trigger's window counters (`...:{window number}`), per key value."""
        return f"{self.prefix}throttle:workflow:{workflow_id}:{key}"

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

    def execution_quota(self, workspace_id: str, month: str) -> str:
        """Runs started by a workspace in a month (`2026-12`), against its plan's max_executions."""
        return f"{self.prefix}quota:executions:{workspace_id}:{month}"

    def approval_link_used(self, execution_id: str, step_id: str) -> str:
        """An approval decided through its signed links (core.runs.approval_links: each pair works once)."""
        return f"{self.prefix}approval-link:used:{execution_id}:{step_id}"

    def resume_url_used(self, execution_id: str) -> str:
        """A run resumed through its resume URL (core.runs.resume_links: it works once per run)."""
        return f"{self.prefix}resume-url:used:{execution_id}"

    def oauth_state(self, state: str) -> str:
        """An OAuth2 authorization in progress (its PKCE verifier and where to go back)."""
        return f"{self.prefix}oauth:state:{state}"

    def refresh_token_used(self, token_id: str) -> str:
        """A refresh token already exchanged (each works once)."""
        return f"{self.prefix}auth:refresh-used:{token_id}"

    def console_session_ended(self, token_id: str) -> str:
        """A console session signed out before its expiry (its cookie no longer works)."""
        return f"{self.prefix}auth:session-ended:{token_id}"

    def login_attempts(self, client: str) -> str:
        """Login attempts from one client address, every account (core.login_throttle)."""
        return f"{self.prefix}ratelimit:login:ip:{client}"

    def login_failures(self, client: str, email: str) -> str:
        """Wrong passwords from one client for one account, and when the last was."""
        return f"{self.prefix}ratelimit:login:fail:{client}:{email}"

    def account_login_failures(self, email: str) -> str:
        """Wrong passwords for one account from every client, and when the last was."""
        return f"{self.prefix}ratelimit:login:account:{email}"


def create_redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)
