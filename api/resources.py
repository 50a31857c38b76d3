"""The long-lived clients one API process holds (database engine, Redis, Temporal, log store)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.credentials import ConnectionCredentials, RefreshPolicy
from core.crypto import CredentialCipher
from core.db import create_engine, session_factory
from core.errors import ServiceUnavailable
from core.logstore import LogStore, create_log_store
from core.quotas import ExecutionQuota
from core.redis_keys import RedisKeys, create_redis
from core.runs import RunService, WorkflowCache, cancel_runs
from core.security import TokenSigner
from core.settings import Settings, to_libpq_url
from core.temporal import TemporalConnector
from core.triggers.arming import TriggerArming
from core.triggers.webhooks import Webhooks
from integrations.catalogue import oauth_endpoints

logger = logging.getLogger("baton.arming")


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    keys: RedisKeys
    temporal: TemporalConnector
    log_store: LogStore
    signer: TokenSigner
    webhooks: Webhooks
    # A plain driver pool for the hot path's single statements (the webhook's PENDING row), opened lazily.
    _pool: asyncpg.Pool | None = None
    _pool_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def pg_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    to_libpq_url(self.settings.database_url),
                    min_size=1,
                    max_size=self.settings.db_pool_size,
                )
            return self._pool

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings)
        redis = create_redis(settings)
        keys = RedisKeys(settings.redis_key_prefix)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            redis=redis,
            keys=keys,
            temporal=TemporalConnector(settings),
            log_store=create_log_store(settings, engine),
            signer=TokenSigner(settings),
            webhooks=Webhooks(
                engine, redis, keys, CredentialCipher.from_settings(settings), settings.public_base_url
            ),
        )

    def credentials(self, http: httpx.AsyncClient) -> ConnectionCredentials:
        """Connections' credentials as the worker reads them, OAuth2 refresh included (for connection
        tests), never cached: a test right after an update reads what was just saved."""
        return ConnectionCredentials(
            self.engine,
            CredentialCipher.from_settings(self.settings),
            redis=self.redis,
            keys=self.keys,
            http=http,
            refresh=RefreshPolicy(
                self.settings.oauth_clients,
                oauth_endpoints,
                timedelta(seconds=self.settings.oauth_refresh_margin_seconds),
            ),
            cache_seconds=0,
        )

    def workflow_cache(self) -> WorkflowCache:
        return WorkflowCache(self.redis, self.keys)

    async def run_service(self) -> RunService:
        """Starting, retrying, resuming and answering runs (core.runs), on this process's servers."""
        return RunService(
            self.engine,
            await self.client(),
            self.settings,
            ExecutionQuota(self.engine, self.redis, self.keys),
            self.workflow_cache(),
            await self.pg_pool(),
        )

    async def client(self) -> Client:
        """The Temporal client; 503 with what to do when Temporal cannot be reached."""
        try:
            return await self.temporal.get()
        except Exception as exc:  # any connection failure means the same thing to the caller
            raise ServiceUnavailable(
                f"the workflow engine (Temporal at {self.settings.temporal_address}) "
                "is unreachable; try again shortly"
            ) from exc

    async def arm(self, *workflow_ids: str) -> None:
        """Arms or disarms the triggers of workflows whose change has committed (see core.triggers.arming)."""
        try:
            client = await self.temporal.get()
        except Exception:
            logger.warning(
                "Temporal is unreachable: the triggers of %s will be armed by `baton reconcile` or the next "
                "worker start",
                ", ".join(workflow_ids),
            )
            return
        await TriggerArming(self.engine, client, self.settings, self.webhooks).sync_quietly(*workflow_ids)

    async def cancel_runs(self, *execution_ids: str) -> None:
        """Cancels the runs in flight of workflows whose deletion has committed (best effort: a run that goes
        on finds its rows gone and writes nothing; see activities.records.rows_of_run)."""
        if not execution_ids:
            return
        try:
            cancelled = await cancel_runs(await self.temporal.get(), execution_ids)
        except Exception:
            logger.warning("could not cancel %d runs of deleted workflows", len(execution_ids), exc_info=True)
            return
        logger.info("cancelled %d runs of deleted workflows", cancelled)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        await self.log_store.close()
        await self.redis.aclose()
        await self.engine.dispose()
