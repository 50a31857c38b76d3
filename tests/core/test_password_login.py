"""Logging in by password through the throttle (core.login_throttle.LoginThrottle.log_in), the one way in
for the token login and the console's session: wrong passwords are counted and earn a wait, a right one
clears the client's failures."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Unauthenticated
from core.login_throttle import CLIENT_FREE_FAILURES, LoginThrottle, TooManyAttempts
from core.redis_keys import RedisKeys
from core.security import hash_password

PASSWORD = "correct horse battery staple 42"


async def _user(db: asyncpg.Connection) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    await db.execute(
        "INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, $2, 'Ada', 'L')",
        email,
        hash_password(PASSWORD),
    )
    return email


async def test_a_right_password_logs_in_and_clears_the_clients_failures(
    engine: AsyncEngine, db: asyncpg.Connection, redis: Redis, redis_keys: RedisKeys
) -> None:
    email = await _user(db)
    throttle = LoginThrottle(redis, redis_keys)
    async with AsyncSession(engine) as session:
        with pytest.raises(Unauthenticated):
            await throttle.log_in(session, "10.0.0.1", email, "wrong")
        assert await redis.exists(redis_keys.login_failures("10.0.0.1", email))
        user = await throttle.log_in(session, "10.0.0.1", email.upper(), PASSWORD)
    assert user.email == email
    assert not await redis.exists(redis_keys.login_failures("10.0.0.1", email))


async def test_after_the_free_wrong_passwords_even_the_right_one_waits(
    engine: AsyncEngine, db: asyncpg.Connection, redis: Redis, redis_keys: RedisKeys
) -> None:
    email = await _user(db)
    throttle = LoginThrottle(redis, redis_keys)
    async with AsyncSession(engine) as session:
        for _ in range(CLIENT_FREE_FAILURES):
            with pytest.raises(Unauthenticated):
                await throttle.log_in(session, "10.0.0.2", email, "wrong")
        with pytest.raises(TooManyAttempts):
            await throttle.log_in(session, "10.0.0.2", email, PASSWORD)
        # another address is not held back by this one's guesses
        assert (await throttle.log_in(session, "10.0.0.3", email, PASSWORD)).email == email
