"""Fixed-window rate limits in Redis (INCR + EXPIRE, as the seed's `ratelimit:*` keys do)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int


async def hit(redis: Redis, key: str, *, limit: int, window_seconds: int) -> Verdict:
    """Counts one hit on `key`; refuses once `limit` hits happened in the current window."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.ttl(key)
        count, ttl = await pipe.execute()
    if ttl < 0:  # the first hit of a window (EXPIRE NX needs Redis 7; the embedded server is 6.2)
        await redis.expire(key, window_seconds)
        ttl = window_seconds
    retry_after = int(ttl)
    return Verdict(count <= limit, max(0, limit - count), retry_after if count > limit else 0)
