"""The long-lived clients one API process holds (database engine, Redis, Temporal, log store), and the
services built on them (core.services, the same module the worker builds its own from)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.blobs import BlobStore, create_blob_store
from core.credentials import ConnectionCredentials
from core.db import create_engine, session_factory
from core.errors import ServiceUnavailable
from core.logstore import LogStore, create_log_store
from core.redis_keys import RedisKeys, create_redis
from core.runs import RunService, WorkflowCache, cancel_runs
from core.runs.control import RunControl
from core.runs.replays import RunReplays
from core.runs.starts import RunStarts
from core.security import TokenSigner
from core.services import Services
from core.settings import Settings, to_libpq_url
from core.temporal import TemporalConnector
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
    services: Services
    webhooks: Webhooks
    # Where files are kept (core.files; BLOB_STORE_URL), None when no store is configured.
    blobs: BlobStore | None = None
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
        services = Services(settings, engine, create_redis(settings), oauth_endpoints)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            redis=services.redis,
            keys=services.keys,
            temporal=TemporalConnector(settings),
            log_store=create_log_store(settings, engine),
            signer=TokenSigner(settings),
            services=services,
            webhooks=services.webhooks(),
            blobs=create_blob_store(settings),
        )

    def credentials(self, http: httpx.AsyncClient) -> ConnectionCredentials:
        """Connections' credentials as the worker reads them, OAuth2 refresh included (for connection
        tests), never cached: a test right after an update reads what was just saved."""
        return self.services.credentials(http)

    def workflow_cache(self) -> WorkflowCache:
        return self.services.workflow_cache()

    async def run_service(self) -> RunService:
        """Starting, retrying, resuming and answering runs (core.runs), on this process's servers."""
        return self.services.runs(await self.client(), pool=await self.pg_pool())

    async def starts(self) -> RunStarts:
        """Starting runs (core.runs.starts)."""
        return (await self.run_service()).starts

    async def control(self) -> RunControl:
        """Acting on runs under way: decide, pause, unpause, cancel (core.runs.control)."""
        return (await self.run_service()).control

    async def replays(self) -> RunReplays:
        """Retrying and resuming runs, one or in bulk (core.runs.replays)."""
        return (await self.run_service()).replays

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
        await self.services.trigger_arming(client, self.webhooks).sync_quietly(*workflow_ids)

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
