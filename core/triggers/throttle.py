"""Throttled triggers: a webhook's `throttle: {limit, windowSeconds, key?, onLimit?}` lets at most `limit`
runs start per window (per key: an expression over the trigger, e.g. `{{ trigger.body.customerId }}`).

Over the limit, a run is not dropped: it is started with a Temporal start delay, in the first window that
has room (the windows fill in arrival order), so the delay is durable (Temporal holds the run, not Baton's
memory) and the limit holds across API processes (the slots are counted in Redis, atomically). With
`onLimit: "reject"` the call is refused with 429 and Retry-After instead (sync webhooks always refuse:
their caller is waiting for the answer).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core.expressions import ExpressionError, render_value

# How far ahead a delayed run may be booked: past it the call is refused (429) rather than queued.
MAX_WINDOWS_AHEAD = 10_000

# KEYS[1]: the key's prefix; ARGV: limit, window (ms), now (ms), windows ahead allowed (0: this one only).
# Books a slot in the first window with room; answers {1, delay ms} or {0, ms until this window ends}.
RESERVE = """
local limit, window, now, ahead = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local first = math.floor(now / window)
for i = 0, ahead do
  local key = KEYS[1] .. ':' .. (first + i)
  local taken = tonumber(redis.call('GET', key) or '0')
  if taken < limit then
    redis.call('INCR', key)
    redis.call('PEXPIRE', key, window * (i + 2))
    return {1, math.max(0, (first + i) * window - now)}
  end
end
return {0, (first + 1) * window - now}
"""


@dataclass(frozen=True)
class Booked:
    """Where a call's run goes: `delay_seconds` from now (0: at once); or refused, retry after."""

    allowed: bool
    delay_seconds: float = 0.0
    retry_after: float = 0.0


def throttle_key(config: dict[str, Any], trigger: Any) -> str:
    """The value the limit is counted per (the rendered `key`; "" when none or when it cannot render)."""
    expression = config.get("key")
    if not expression:
        return ""
    try:
        value = render_value(expression, {"trigger": trigger})
    except ExpressionError:
        return ""
    return hashlib.sha256(str(value).encode()).hexdigest()[:24]


async def book(redis: Redis, prefix: str, config: dict[str, Any], *, now_ms: int, delay: bool) -> Booked:
    window_ms = int(config["windowSeconds"]) * 1000
    ahead = MAX_WINDOWS_AHEAD if delay else 0
    allowed, ms = await redis.eval(RESERVE, 1, prefix, int(config["limit"]), window_ms, now_ms, ahead)
    if int(allowed):
        return Booked(True, delay_seconds=int(ms) / 1000)
    return Booked(False, retry_after=max(1.0, math.ceil(int(ms) / 1000)))
