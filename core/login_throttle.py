"""Slowing down password guessing without locking anyone out.

A lockout after N wrong passwords lets anyone lock any account by typing its email N times. Instead, wrong
passwords earn a wait that doubles with each failure:

- per client and account (`ratelimit:login:fail:{client}:{email}`): 5 free failures, then 2, 4, 8... s up
  to 15 minutes. Someone guessing from one address slows to a crawl; the account's owner, elsewhere, is
  not affected.
- per account, from every client (`ratelimit:login:account:{email}`): 20 free failures in the window, then
  a wait of 2, 4, 8... s capped at 30 s: a guesser spread over many addresses gets at most two tries a
  minute, and the owner waits 30 s at worst, never 15 minutes.
- per client, every account (`ratelimit:login:ip:{client}`): 50 attempts per 15 minutes (credential
  stuffing from one address).

A successful login clears the client's failures for that account. Failures are forgotten after 15 minutes
without one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts import authenticate, normalize_email
from core.errors import BatonError, Unauthenticated
from core.models import User
from core.ratelimit import hit
from core.redis_keys import RedisKeys

WINDOW_SECONDS = 15 * 60
CLIENT_FREE_FAILURES, CLIENT_MAX_WAIT = 5, 15 * 60.0
ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_WAIT = 20, 30.0
ATTEMPTS_PER_CLIENT = 50

# KEYS[1] a failures hash {count, last}; ARGV[1] now (s), ARGV[2] the window (s). Returns the new count.
FAIL = """
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return count
"""


class TooManyAttempts(BatonError, status=429, kind="rate_limited"):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def wait_after(failures: int, free: int, cap: float) -> float:
    """Seconds to wait after `failures` failures: none for the first `free`, then doubling up to `cap`."""
    if failures < free:
        return 0.0
    return min(cap, 2.0 ** (failures - free + 1))


@dataclass
class LoginThrottle:
    redis: Redis
    keys: RedisKeys

    def _client_key(self, client: str, email: str) -> str:
        return self.keys.login_failures(client, email)

    def _account_key(self, email: str) -> str:
        return self.keys.account_login_failures(email)

    async def check(self, client: str, email: str, now: float | None = None) -> None:
        """TooManyAttempts (with Retry-After) while this client or this account must wait."""
        now = time.time() if now is None else now
        verdict = await hit(
            self.redis,
            self.keys.login_attempts(client),
            limit=ATTEMPTS_PER_CLIENT,
            window_seconds=WINDOW_SECONDS,
        )
        if not verdict.allowed:
            raise self._refused(verdict.retry_after, "from this address")
        for key, free, cap, whose in (
            (self._client_key(client, email), CLIENT_FREE_FAILURES, CLIENT_MAX_WAIT, "from this address"),
            (self._account_key(email), ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_WAIT, "for this account"),
        ):
            count, last = await self.redis.hmget(key, ["count", "last"])
            if count is None or last is None:
                continue
            left = float(last) + wait_after(int(count), free, cap) - now
            if left > 0:
                raise self._refused(left, whose)

    async def failed(self, client: str, email: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for key in (self._client_key(client, email), self._account_key(email)):
            await self.redis.eval(FAIL, 1, key, str(now), str(WINDOW_SECONDS))

    async def succeeded(self, client: str, email: str) -> None:
        await self.redis.delete(self._client_key(client, email))

    async def log_in(self, session: AsyncSession, client: str, email: str, password: str) -> User:
        """The account for this email and password, through the throttle: TooManyAttempts while the client
        or the account must wait, a wrong password counted, a right one clearing the client's failures. The
        one way in by password, for the token login and the console's session alike."""
        address = normalize_email(email)
        await self.check(client, address)
        try:
            user = await authenticate(session, email, password)
        except Unauthenticated:
            await self.failed(client, address)
            raise
        await self.succeeded(client, address)
        return user

    @staticmethod
    def _refused(seconds: float, whose: str) -> TooManyAttempts:
        wait = max(1, math.ceil(seconds))
        return TooManyAttempts(
            f"too many wrong passwords {whose}; try again in {wait} seconds (each one doubles the wait)",
            wait,
        )
