"""The long-lived clients one API process holds (database engine, Redis, Temporal, log store)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import create_engine, session_factory
from core.logstore import LogStore, create_log_store
from core.redis_keys import RedisKeys, create_redis
from core.security import TokenSigner
from core.settings import Settings
from core.temporal import TemporalConnector


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

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            redis=create_redis(settings),
            keys=RedisKeys(settings.redis_key_prefix),
            temporal=TemporalConnector(settings),
            log_store=create_log_store(settings, engine),
            signer=TokenSigner(settings),
        )

    async def close(self) -> None:
        await self.log_store.close()
        await self.redis.aclose()
        await self.engine.dispose()
