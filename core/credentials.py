"""Loads a connection for an action, a poll or a connection test: decrypted credentials (cached briefly in
this process, never logged), scoped to a workspace, with OAuth2 tokens refreshed *before* they expire.

A refresh happens under the Redis lock `lock:connection:{id}:refresh` (SET NX with a token, released only
by its holder): of many steps that find the token about to expire at once, one refreshes and the others
wait for the lock to go and read the new token, so a provider that rotates refresh tokens (each works
once) is asked once. A refresh the provider refuses (revoked grant) marks the connection FAILED and tells
the user to reconnect; one that fails for a passing reason keeps using the old token while it is valid.

Failures are `CredentialsError`s (a domain error with a `type` and whether a retry can help); the worker
turns them into Temporal's errors (activities.connections), the API into its JSON errors. Which OAuth2
endpoints an integration has comes from the integration catalogue, passed in as `OAuthEndpoints` (core
does not import the integrations).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core import oauth, oauth_grants, oauth_providers
from core.connections import oauth_credentials, token_columns
from core.crypto import CredentialCipher, DecryptionError
from core.errors import AUTH_FAILED, BatonError
from core.models import TestStatus
from core.models.tables import CONNECTIONS
from core.redis_keys import RedisKeys

logger = logging.getLogger("baton.connections")

# Compare-and-delete: only the holder of the lock releases it.
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class CredentialsError(BatonError):
    """A connection that cannot be used now: `type` names why (ConnectionNotFound, ConnectionDisabled,
    CredentialsUnreadable, AuthenticationFailed, RefreshBusy, RefreshFailed, NoTokenRefresh); `retryable`
    says whether trying again later can help."""

    status_code = 409
    kind = "connection_unusable"

    def __init__(self, detail: str, *, type: str, retryable: bool = False) -> None:  # noqa: A002
        super().__init__(detail, path="connectionId")
        self.type = type
        self.retryable = retryable


# (display name, the integration's declared OAuth2 endpoints or None) of an integration id
OAuthEndpoints = Callable[[str], tuple[str, Any]]


@dataclass(frozen=True)
class LoadedConnection:
    id: str
    workspace_id: str
    integration_id: str
    credentials: dict[str, Any]
    expires_at: datetime | None
    rate_limit: dict[str, Any] | None


@dataclass(frozen=True)
class RefreshPolicy:
    """What refreshing needs: the installation's OAuth clients and how early to refresh."""

    oauth_clients: dict[str, dict[str, str]]
    endpoints: OAuthEndpoints
    margin: timedelta = timedelta(minutes=5)
    lock_seconds: int = 30
    # the OAuth2 provider catalogue of generic `http` OAuth2 connections (core.oauth_providers)
    providers: Callable[[], oauth_providers.Catalogue] = oauth_providers.from_environment


class ConnectionCredentials:
    def __init__(
        self,
        engine: AsyncEngine,
        cipher: CredentialCipher,
        *,
        redis: Redis | None = None,
        keys: RedisKeys | None = None,
        http: httpx.AsyncClient | None = None,
        refresh: RefreshPolicy | None = None,
        cache_seconds: float = 30,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._redis = redis
        self._keys = keys or RedisKeys()
        self._http = http
        self._refresh = refresh
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str | None], tuple[float, LoadedConnection]] = {}

    async def load(self, connection_id: str, workspace_id: str | None) -> dict[str, Any]:
        """The decrypted credentials; a connection of another workspace is reported as not found."""
        return (await self.connection(connection_id, workspace_id)).credentials

    async def connection(
        self,
        connection_id: str,
        workspace_id: str | None,
        *,
        refused_token: str | None = None,
        disabled_too: bool = False,
    ) -> LoadedConnection:
        """The connection, its OAuth2 token refreshed if it expires within the margin, or if the service
        just refused `refused_token` (a token revoked or expired early). A disabled connection is refused
        unless `disabled_too` (a connection test). Failures are `failure(error)` (a CredentialsError here)."""
        key = (connection_id, workspace_id)
        try:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > time.monotonic() and refused_token is None:
                loaded = cached[1]
            else:
                loaded = await self._read(connection_id, workspace_id, disabled_too=disabled_too)
            if self._needs_refresh(loaded, refused_token):
                loaded = await self._refreshed(loaded, refused_token)
        except CredentialsError as exc:
            failure = self.failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        self._cache[key] = (time.monotonic() + self._cache_seconds, loaded)
        return loaded

    def failure(self, error: CredentialsError) -> Exception:
        """What a caller gets for a connection that cannot be used: the error itself; a subclass may turn
        it into its own kind (the worker: Temporal's ApplicationError)."""
        return error

    def _needs_refresh(self, loaded: LoadedConnection, refused_token: str | None) -> bool:
        if self._refresh is None:
            return False
        buys_own = oauth_grants.fetches_own_token(loaded.credentials)
        if not loaded.credentials.get("refreshToken") and not buys_own:
            return False
        if buys_own and not loaded.credentials.get("accessToken"):
            return True  # client credentials and service accounts get their first token on first use
        if refused_token is not None:  # unless someone refreshed since that token was used
            current = str(loaded.credentials.get("accessToken") or "")
            return hmac.compare_digest(current.encode(), refused_token.encode())
        if loaded.expires_at is None:
            return False
        return loaded.expires_at - datetime.now(UTC) <= self._refresh.margin

    async def _read(
        self, connection_id: str, workspace_id: str | None, *, disabled_too: bool = False
    ) -> LoadedConnection:
        query = select(
            CONNECTIONS.c.workspace_id,
            CONNECTIONS.c.integration_id,
            CONNECTIONS.c.credentials,
            CONNECTIONS.c.is_active,
            CONNECTIONS.c.expires_at,
            CONNECTIONS.c.rate_limit,
        ).where(CONNECTIONS.c.id == connection_id)
        if workspace_id is not None:
            query = query.where(CONNECTIONS.c.workspace_id == workspace_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            raise CredentialsError(
                f"connection {connection_id} does not exist in this workspace", type="ConnectionNotFound"
            )
        if not row.is_active and not disabled_too:
            raise CredentialsError(
                f"connection {connection_id} is disabled; enable it or pick another",
                type="ConnectionDisabled",
            )
        try:
            credentials = self._cipher.open(row.credentials)
        except DecryptionError as exc:
            raise CredentialsError(
                f"connection {connection_id}: {exc} (was ENCRYPTION_KEY changed?)",
                type="CredentialsUnreadable",
            ) from exc
        return LoadedConnection(
            connection_id, row.workspace_id, row.integration_id, credentials, row.expires_at, row.rate_limit
        )

    async def _refreshed(self, loaded: LoadedConnection, refused_token: str | None) -> LoadedConnection:
        assert self._refresh is not None
        if self._redis is None or self._http is None:
            raise CredentialsError("this process cannot refresh OAuth2 tokens", type="NoTokenRefresh")
        lock = self._keys.connection_refresh_lock(loaded.id)
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + self._refresh.lock_seconds
        while not await self._redis.set(lock, holder, nx=True, ex=self._refresh.lock_seconds):
            # Another step is refreshing: wait for it, then use what it stored.
            if time.monotonic() > deadline:
                raise CredentialsError(
                    "waited too long for another step to refresh the token",
                    type="RefreshBusy",
                    retryable=True,
                )
            await asyncio.sleep(0.05)
        try:
            current = await self._read(loaded.id, loaded.workspace_id, disabled_too=True)
            if not self._needs_refresh(current, refused_token):
                return current  # refreshed by someone else meanwhile
            return await self._refresh_now(current)
        finally:
            await self._redis.eval(RELEASE, 1, lock, holder)

    async def _refresh_now(self, current: LoadedConnection) -> LoadedConnection:
        assert self._refresh is not None
        assert self._http is not None
        service, declared = self._refresh.endpoints(current.integration_id)
        try:
            if oauth_grants.is_generic(current.credentials):
                catalogue = self._refresh.providers()
                service = oauth_grants.provider_name(current.credentials, catalogue)
                tokens = await oauth_grants.connection_token(
                    self._http, current.credentials, self._refresh.oauth_clients, catalogue
                )
            else:
                client = oauth.client_for(current.integration_id, declared, self._refresh.oauth_clients)
                tokens = await oauth.refresh_tokens(
                    self._http, client, str(current.credentials["refreshToken"])
                )
        except oauth.RefreshRefused as exc:
            await self._mark_failed(current.id)
            raise CredentialsError(
                f"{service} refused the connection's credentials (the token could not be refreshed: {exc}). "
                "Reconnect it (Connections -> Reconnect, or create a new one) and run the workflow again.",
                type=AUTH_FAILED,
            ) from exc
        except BatonError as exc:
            still_valid = current.expires_at is not None and current.expires_at > datetime.now(UTC)
            if still_valid:
                logger.warning(
                    "connection %s: early token refresh failed (%s); using the current one", current.id, exc
                )
                return current
            raise CredentialsError(
                f"{service}: the token could not be refreshed: {exc}", type="RefreshFailed", retryable=True
            ) from exc
        credentials = oauth_credentials(tokens, current.credentials)
        async with self._engine.begin() as connection:
            await connection.execute(
                update(CONNECTIONS)
                .where(CONNECTIONS.c.id == current.id)
                .values(**token_columns(self._cipher, credentials, tokens))
            )
        logger.info("connection %s: OAuth2 token refreshed (expires %s)", current.id, tokens.expires_at)
        return replace(current, credentials=credentials, expires_at=tokens.expires_at)

    async def _mark_failed(self, connection_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(CONNECTIONS)
                .where(CONNECTIONS.c.id == connection_id)
                .values(test_status=TestStatus.FAILED)
            )
