"""Tokens of a generic OAuth2 connection (an `http` connection with `type: oauth2`), by its grant.

- authorization_code: made through the browser flow (core.oauth); later tokens come from its refresh
  token (RFC 6749 section 6), rotated when the provider rotates it.
- client_credentials (RFC 6749 4.4): the client's own id and secret buy a token, on first use and again
  whenever it is about to expire; there is no refresh token.
- jwt_bearer (RFC 7523, Google's service accounts): an assertion signed with the service account's private
  key (RS256, at most an hour long, `sub` for domain-wide delegation) buys a token.

All of them go through the caller's HTTP client, which is the egress-guarded one (core.outbound).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from core import oauth
from core.errors import NotFound
from core.oauth_providers import Catalogue, Provider, client_for
from core.outbound import BlockedAddress

GRANTS = ("authorization_code", "client_credentials", "jwt_bearer")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google refuses assertions valid for longer than an hour


def is_generic(credentials: dict[str, Any]) -> bool:
    return credentials.get("type") == "oauth2"


def fetches_own_token(credentials: dict[str, Any]) -> bool:
    """Whether the connection buys its tokens itself (no user, no refresh token)."""
    return is_generic(credentials) and credentials.get("grant") in {"client_credentials", "jwt_bearer"}


def renewable(credentials: dict[str, Any]) -> bool:
    """Whether a fresh token can be had without the user: a refresh token, or a grant of the client's own."""
    return bool(credentials.get("refreshToken")) or fetches_own_token(credentials)


def provider_name(credentials: dict[str, Any], catalogue: Catalogue) -> str:
    provider = catalogue.get(str(credentials.get("provider") or ""))
    return provider.name if provider else "the OAuth2 provider"


async def connection_token(
    http: httpx.AsyncClient,
    credentials: dict[str, Any],
    configured: dict[str, dict[str, str]],
    catalogue: Catalogue,
) -> oauth.Tokens:
    """A fresh token for the connection, by its grant. `oauth.RefreshRefused` when the provider refuses
    the grant itself (revoked refresh token, disabled client or service account): reconnecting is needed."""
    grant = credentials.get("grant") or "authorization_code"
    if grant == "jwt_bearer":
        return await _jwt_bearer(http, credentials, configured, catalogue)
    try:
        client = client_for(credentials.get("provider"), catalogue, configured, credentials)
    except (oauth.OAuthError, NotFound) as exc:
        # no retry can fix a provider or client this installation does not know: the connection needs fixing
        raise oauth.RefreshRefused(str(exc)) from exc
    if grant == "client_credentials":
        form = {"grant_type": "client_credentials", "client_id": client.client_id}
        form["client_secret"] = client.client_secret
        if client.scopes:
            form["scope"] = client.scope_separator.join(client.scopes)
        if credentials.get("audience"):
            form["audience"] = str(credentials["audience"])
        return await oauth.token_request(http, client, form, "refused the client credentials")
    if not credentials.get("refreshToken"):
        raise oauth.RefreshRefused(f"{client.integration_id} gave no refresh token")
    return await oauth.refresh_tokens(http, client, str(credentials["refreshToken"]))


def assertion(account: dict[str, Any], scopes: tuple[str, ...], subject: str | None, now: int) -> str:
    """The signed JWT of RFC 7523 section 2.1, as Google's service accounts make it."""
    claims: dict[str, Any] = {
        "iss": account["client_email"],
        "aud": account["token_uri"],
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    if subject:  # domain-wide delegation: act as this user
        claims["sub"] = subject
    headers = {"kid": account["private_key_id"]} if account.get("private_key_id") else None
    return jwt.encode(claims, account["private_key"], algorithm="RS256", headers=headers)


async def _jwt_bearer(
    http: httpx.AsyncClient,
    credentials: dict[str, Any],
    configured: dict[str, dict[str, str]],
    catalogue: Catalogue,
) -> oauth.Tokens:
    account = credentials.get("serviceAccount") or {}
    missing = [k for k in ("client_email", "private_key") if not account.get(k)]
    if missing:
        raise oauth.RefreshRefused(f"the service account JSON has no {', '.join(missing)}")
    provider = catalogue.get(str(credentials.get("provider") or ""))
    token_url = (
        account.get("token_uri")
        or configured.get(str(credentials.get("provider")), {}).get("tokenUrl")
        or (provider.token_url if provider else None)
    )
    if not token_url:
        raise oauth.RefreshRefused("the service account JSON has no token_uri")
    scopes = credentials.get("scopes")
    chosen = tuple(scopes) if scopes is not None else (provider.default_scopes if provider else ())
    try:
        signed = assertion(
            {**account, "token_uri": token_url}, chosen, credentials.get("subject"), int(time.time())
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise oauth.RefreshRefused(f"the service account's private_key cannot sign: {exc}") from exc
    client = oauth.OAuthClient(
        integration_id=provider.name if provider else "the OAuth2 provider",
        client_id=str(account["client_email"]),
        client_secret="",
        authorize_url="",
        token_url=str(token_url),
        scopes=chosen,
        pkce=False,
        scope_separator=" ",
        extra_params=(),
    )
    form = {"grant_type": JWT_BEARER, "assertion": signed}
    return await oauth.token_request(http, client, form, "refused the service account's assertion")


def _at(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


IDENTITY_CLAIMS = ("email", "preferred_username", "login", "name", "sub")


async def connected_as(
    http: httpx.AsyncClient, provider: Provider | None, tokens: oauth.Tokens
) -> str | None:
    """Who the tokens act for, to show on the connection: the `id_token`'s email (it came straight from
    the token endpoint over TLS, so OpenID Connect 3.1.3.7 needs no signature check for display), else the
    provider's userinfo answer at its catalogue path (`userinfoIdentity`), else the id_token's subject.
    The userinfo call goes through `http`, the egress-guarded client. None when the provider says neither."""
    id_token = tokens.raw.get("id_token")
    claims: dict[str, Any] = {}
    if isinstance(id_token, str):
        try:
            claims = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
    if isinstance(claims.get("email"), str) and claims["email"]:
        return str(claims["email"])
    if provider is not None and provider.userinfo_url:
        try:
            answer = await http.get(
                provider.userinfo_url, headers={"Authorization": f"Bearer {tokens.access_token}"}
            )
            found = answer.json() if answer.status_code == 200 else {}
        except (httpx.HTTPError, ValueError, BlockedAddress):
            found = {}
        chosen = _at(found, provider.userinfo_identity) if provider.userinfo_identity else None
        if isinstance(chosen, str | int) and str(chosen):
            return str(chosen)
        claims = {**found, **claims} if isinstance(found, dict) else claims
    for key in IDENTITY_CLAIMS:
        if claims.get(key):
            return str(claims[key])
    return None
