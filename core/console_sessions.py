"""Console sign-in: a session token in an HttpOnly cookie, and the CSRF token that goes with it.

A browser sends cookies with every request to Baton, including requests another site makes it send, so a
request authenticated by the cookie changes something only when it also carries the CSRF token in a
header (`X-CSRF-Token`), which only Baton's own pages can read (from a second, non-HttpOnly cookie). The
CSRF token is an HMAC of the session's id (the "signed double-submit cookie" of OWASP's CSRF cheat sheet),
so a cookie planted by a sibling subdomain cannot supply a matching pair. Compared in constant time
(`hmac.compare_digest`). Bearer tokens and API keys are not sent by browsers on their own: they need none.

The session token is a JWT of type `session` (core.security); signing out ends it before its expiry by
remembering its id in Redis until then. Signing in goes through the login throttle like `POST /auth/login`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts import active_user
from core.crypto import derive_raw_key
from core.errors import PermissionDenied, Unauthenticated
from core.login_throttle import LoginThrottle
from core.models import User
from core.redis_keys import RedisKeys
from core.security import InvalidToken, TokenSigner
from core.settings import Settings

SESSION_COOKIE = "baton_session"
CSRF_COOKIE = "baton_csrf"
CSRF_HEADER = "X-CSRF-Token"
# What a cross-site form or link may make a browser send; everything else must prove it is the console's.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ConsoleSession:
    user: User
    token: str
    csrf_token: str
    max_age: int  # seconds until the token expires (the cookies' Max-Age)


class ConsoleSessions:
    """Signs users in and out of the console, and reads the session of a request's cookie."""

    def __init__(self, settings: Settings, signer: TokenSigner, redis: Redis, keys: RedisKeys) -> None:
        self._csrf_key = derive_raw_key(settings.secret_key, b"baton/console-csrf/v1")
        self.signer = signer
        self.redis = redis
        self.keys = keys

    def csrf_token(self, claims: dict[str, Any]) -> str:
        digest = hmac.new(self._csrf_key, str(claims["jti"]).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    async def sign_in(self, session: AsyncSession, client: str, email: str, password: str) -> ConsoleSession:
        """A new session for the account, under the same throttle as the token login (429 when waiting)."""
        user = await LoginThrottle(self.redis, self.keys).log_in(session, client, email, password)
        token, claims = self.signer.issue(user.id, "session")
        max_age = int(self.signer.lifetimes.session.total_seconds())
        return ConsoleSession(user, token, self.csrf_token(claims), max_age)

    async def _claims(self, token: str) -> dict[str, Any]:
        try:
            claims = self.signer.read(token, "session")
        except InvalidToken as exc:
            raise Unauthenticated(f"the console session is not valid ({exc}); sign in again") from exc
        if await self.redis.exists(self.keys.console_session_ended(claims["jti"])):
            raise Unauthenticated("this console session was signed out; sign in again")
        return claims

    def _require_csrf(self, claims: dict[str, Any], method: str, csrf_header: str | None) -> None:
        if method.upper() in SAFE_METHODS:
            return
        if not hmac.compare_digest((csrf_header or "").encode(), self.csrf_token(claims).encode()):
            raise PermissionDenied(
                f"a request signed in by the console's cookie must send the {CSRF_HEADER} header with the "
                f"value of the {CSRF_COOKIE} cookie"
            )

    async def user_of(self, session: AsyncSession, token: str, method: str, csrf_header: str | None) -> User:
        """The user of a request authenticated by the session cookie; a request that changes something
        must carry the session's CSRF token in `X-CSRF-Token` (403 otherwise)."""
        claims = await self._claims(token)
        self._require_csrf(claims, method, csrf_header)
        return await active_user(session, claims["sub"])

    async def sign_out(self, token: str, csrf_header: str | None) -> None:
        """Ends the session now (a copy of its cookie stops working). Needs the CSRF token, so another site
        cannot sign the user out; a token no longer valid has nothing to end."""
        try:
            claims = self.signer.read(token, "session")
        except InvalidToken:
            return
        self._require_csrf(claims, "DELETE", csrf_header)
        seconds_left = int(claims["exp"]) - int(time.time())
        if seconds_left > 0:
            await self.redis.set(self.keys.console_session_ended(claims["jti"]), "1", ex=seconds_left)
