"""The OAuth2 authorization-code flow for connections (RFC 6749, with PKCE S256 from RFC 7636).

The state is random, lives 10 minutes in Redis and works once; it carries who asked, for which workspace
and integration, and the PKCE verifier, so the callback needs no login and cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
from redis.asyncio import Redis

from core.errors import BatonError, NotFound
from core.outbound import BlockedAddress
from core.redis_keys import RedisKeys

STATE_SECONDS = 600


class OAuthError(BatonError, status=400, kind="oauth_error"):
    """An OAuth2 flow that cannot go on (an unknown or expired state, a provider not configured)."""


class ProviderError(BatonError, status=502, kind="provider_error"):
    """The OAuth2 provider answered with an error or something unreadable."""


@dataclass(frozen=True)
class OAuthClient:
    integration_id: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    pkce: bool
    scope_separator: str
    extra_params: tuple[tuple[str, str], ...]
    # RFC 6749 2.3.1: the secret in the form body, or as HTTP basic auth (Notion, Zoom, QuickBooks...)
    token_auth: str = "client_secret_post"


@dataclass(frozen=True)
class PendingAuthorization:
    workspace_id: str
    user_id: str
    integration_id: str
    name: str
    code_verifier: str | None
    # a generic `http` OAuth2 connection through the provider catalogue (core.oauth_providers)
    provider: str | None = None
    scopes: list[str] | None = None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    raw: dict[str, Any]


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _state_key(keys: RedisKeys, state: str) -> str:
    return keys.oauth_state(state)


async def begin(
    redis: Redis, keys: RedisKeys, client: OAuthClient, pending: PendingAuthorization, redirect_uri: str
) -> str:
    """Stores the state and returns the provider URL to send the user to."""
    state = secrets.token_urlsafe(32)
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": client.scope_separator.join(client.scopes),
        **dict(client.extra_params),
    }
    if client.pkce:
        verifier = secrets.token_urlsafe(48)
        params |= {"code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
        pending = PendingAuthorization(**{**pending.__dict__, "code_verifier": verifier})
    await redis.set(_state_key(keys, state), json.dumps(pending.__dict__), ex=STATE_SECONDS)
    separator = "&" if "?" in client.authorize_url else "?"
    return f"{client.authorize_url}{separator}{urlencode(params)}"


async def take_state(redis: Redis, keys: RedisKeys, state: str) -> PendingAuthorization:
    raw = await redis.getdel(_state_key(keys, state))
    if raw is None:
        raise OAuthError("unknown, used or expired OAuth state; start the connection again", path="state")
    return PendingAuthorization(**json.loads(raw))


async def exchange_code(
    http: httpx.AsyncClient, client: OAuthClient, code: str, redirect_uri: str, verifier: str | None
) -> Tokens:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    if verifier:
        form["code_verifier"] = verifier
    return await token_request(http, client, form, "refused the authorization")


class RefreshRefused(ProviderError):
    """The provider will not refresh (revoked or expired refresh token): the user must reconnect."""


async def refresh_tokens(http: httpx.AsyncClient, client: OAuthClient, refresh_token: str) -> Tokens:
    """RFC 6749 section 6. A provider that answers without a new refresh token keeps the old one valid."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    tokens = await token_request(http, client, form, "refused to refresh the token")
    if tokens.refresh_token is None:
        tokens = Tokens(tokens.access_token, refresh_token, tokens.expires_at, tokens.raw)
    return tokens


async def token_request(
    http: httpx.AsyncClient, client: OAuthClient, form: dict[str, str], refused: str
) -> Tokens:
    auth: httpx.BasicAuth | None = None
    if client.token_auth == "client_secret_basic" and "client_secret" in form:
        # RFC 6749 2.3.1: each part form-encoded, and the secret then left out of the body
        auth = httpx.BasicAuth(quote_plus(client.client_id), quote_plus(form.pop("client_secret")))
        form.pop("client_id", None)
    try:
        response = await http.post(
            client.token_url,
            data=form,
            headers={"Accept": "application/json"},
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except (httpx.HTTPError, BlockedAddress) as exc:
        raise ProviderError(f"{client.integration_id}'s token endpoint is unreachable: {exc}") from exc
    try:
        body: dict[str, Any] = response.json()
    except ValueError as exc:
        raise ProviderError(
            f"{client.integration_id}'s token endpoint answered {response.status_code}"
        ) from exc
    if response.status_code >= 400 or "access_token" not in body or body.get("ok") is False:
        reason = body.get("error_description") or body.get("error") or f"status {response.status_code}"
        # invalid_grant (RFC 6749 5.2): the grant is expired, revoked or was issued to another client.
        error = RefreshRefused if body.get("error") in {"invalid_grant", "invalid_client"} else ProviderError
        if response.status_code >= 500:
            error = ProviderError
        raise error(f"{client.integration_id} {refused}: {reason}")
    expires_in = body.get("expires_in")
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token"),
        expires_at=datetime.now(UTC) + timedelta(seconds=int(expires_in)) if expires_in else None,
        raw={k: v for k, v in body.items() if k not in {"access_token", "refresh_token", "expires_in"}},
    )


def client_for(integration_id: str, declared: Any, configured: dict[str, dict[str, str]]) -> OAuthClient:
    """The OAuth client of an integration: its declaration, with this installation's client and URLs."""
    if declared is None:
        raise NotFound(f"{integration_id} does not connect with OAuth2", path="integrationId")
    settings = configured.get(integration_id)
    if not settings or not settings.get("clientId") or not settings.get("clientSecret"):
        raise OAuthError(
            f"no OAuth client is configured for {integration_id}: set OAUTH_CLIENTS to "
            f'{{"{integration_id}": {{"clientId": "...", "clientSecret": "..."}}}}'
        )
    return OAuthClient(
        integration_id=integration_id,
        client_id=settings["clientId"],
        client_secret=settings["clientSecret"],
        authorize_url=settings.get("authorizeUrl", declared.authorize_url),
        token_url=settings.get("tokenUrl", declared.token_url),
        scopes=tuple(declared.scopes),
        pkce=declared.pkce,
        scope_separator=declared.scope_separator,
        extra_params=tuple(declared.extra_authorize_params),
    )
