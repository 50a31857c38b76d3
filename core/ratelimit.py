"""Fixed-window rate limits in Redis (INCR + EXPIRE, as the seed's `ratelimit:*` keys do).

One Lua script per hit: the count, the window's start and the time left are read atomically, so two
callers racing on the first hit of a window cannot leave a key without its expiry.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1] the counter; ARGV[1] the window in ms. Returns {count, ms left in the window}.
HIT = """
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    # Seconds until the window resets (0 when allowed).
    retry_after: float


async def hit(redis: Redis, key: str, *, limit: int, window_seconds: float) -> Verdict:
    """Counts one hit on `key`; refuses once `limit` hits happened in the current window."""
    count, left_ms = await redis.eval(HIT, 1, key, int(window_seconds * 1000))
    count, left = int(count), int(left_ms) / 1000
    return Verdict(count <= limit, max(0, limit - count), left if count > limit else 0.0)
