"""The services a Baton process builds from its settings and its servers, one module for the API and the
worker: the run use cases (starts, control, replays, held by RunService), the quota and workflow cache they
use, connections' credentials, webhooks and trigger arming.

Both processes used to assemble these themselves (api/resources.py and worker/main.py), each with its own
copy of the constructor calls; a new dependency of a use case was then added in two places or, worse, in
one. Here it is added once. The OAuth2 endpoints of the integration catalogue are given by the caller
(`integrations.catalogue.oauth_endpoints`): core does not import the integrations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from core.credentials import ConnectionCredentials, OAuthEndpoints, RefreshPolicy
from core.crypto import CredentialCipher
from core.quotas import ExecutionQuota
from core.redis_keys import RedisKeys
from core.runs.service import RunService
from core.runs.starts import WorkflowCache
from core.settings import Settings
from core.triggers.arming import TriggerArming
from core.triggers.webhooks import Webhooks

Credentials = TypeVar("Credentials", bound=ConnectionCredentials)


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    redis: Redis
    oauth_endpoints: OAuthEndpoints
    keys: RedisKeys = field(init=False)
    cipher: CredentialCipher = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", RedisKeys(self.settings.redis_key_prefix))
        object.__setattr__(self, "cipher", CredentialCipher.from_settings(self.settings))

    def workflow_cache(self) -> WorkflowCache:
        return WorkflowCache(self.redis, self.keys)

    def runs(
        self, client: Client, *, task_queue: str | None = None, pool: asyncpg.Pool | None = None
    ) -> RunService:
        """Starting, controlling and replaying runs on `client`; `task_queue`: the queue runs start on when
        it is not TEMPORAL_TASK_QUEUE (a worker serving another); `pool`: a driver pool for the hot path's
        single statements (the API's)."""
        settings = self.settings
        if task_queue is not None and task_queue != settings.temporal_task_queue:
            settings = settings.model_copy(update={"temporal_task_queue": task_queue})
        quota = ExecutionQuota(self.engine, self.redis, self.keys)
        return RunService(self.engine, client, settings, quota, self.workflow_cache(), pool)

    def credentials(
        self,
        http: httpx.AsyncClient,
        *,
        kind: type[Credentials] = ConnectionCredentials,  # type: ignore[assignment]
        cache_seconds: float = 0,
    ) -> Credentials:
        """Connections' credentials, OAuth2 refresh included; `kind`: the worker's own subclass (its errors
        are Temporal's); `cache_seconds` 0 reads what was just saved (a connection test)."""
        refresh = RefreshPolicy(
            self.settings.oauth_clients,
            self.oauth_endpoints,
            timedelta(seconds=self.settings.oauth_refresh_margin_seconds),
        )
        return kind(
            self.engine,
            self.cipher,
            redis=self.redis,
            keys=self.keys,
            http=http,
            refresh=refresh,
            cache_seconds=cache_seconds,
        )

    def webhooks(self) -> Webhooks:
        return Webhooks(self.engine, self.redis, self.keys, self.cipher, self.settings.public_base_url)

    def trigger_arming(self, client: Client, webhooks: Webhooks | None = None) -> TriggerArming:
        return TriggerArming(self.engine, client, self.settings, webhooks or self.webhooks())
