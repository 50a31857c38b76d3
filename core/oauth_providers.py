"""The OAuth2 provider catalogue: where each provider authorizes and issues tokens, as data.

The catalogue shipped with Baton (core/oauth_providers.json) names the providers people connect most;
an operator adds or overrides one without code, with a JSON file (OAUTH_PROVIDERS_FILE) or inline JSON
(OAUTH_PROVIDERS), both shaped like the shipped file. A connection then names a provider, or gives the
URLs itself, and gets its client from OAUTH_CLIENTS[provider] or from its own clientId/clientSecret.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from core.errors import NotFound
from core.oauth import OAuthClient, OAuthError

SHIPPED = Path(__file__).with_name("oauth_providers.json")


class Provider(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    name: str
    authorize_url: str | None = Field(default=None, description="None: no browser flow (machine grants)")
    token_url: str
    default_scopes: tuple[str, ...] = ()
    base_url: str | None = None
    pkce: bool = True
    token_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    scope_separator: str = " "
    authorize_params: dict[str, str] = Field(default_factory=dict)
    userinfo_url: str | None = Field(default=None, description="GET with the token: who it acts for")
    userinfo_identity: str | None = Field(
        default=None, description="dotted JSON path of the display email/login in the userinfo answer"
    )


Catalogue = dict[str, Provider]


def _parse(raw: Any, where: str) -> Catalogue:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object of providers by id")
    try:
        return {str(pid): Provider.model_validate(entry) for pid, entry in raw.items()}
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise ValueError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def load(file: str | None = None, inline: dict[str, Any] | None = None) -> Catalogue:
    """The shipped catalogue, then the operator's file, then inline entries (a later one replaces)."""
    catalogue = _parse(json.loads(SHIPPED.read_text()), str(SHIPPED))
    if file:
        catalogue |= _parse(json.loads(Path(file).read_text()), file)
    if inline:
        catalogue |= _parse(inline, "OAUTH_PROVIDERS")
    return catalogue


@lru_cache(maxsize=1)
def from_environment() -> Catalogue:
    """The catalogue as the operator configured it in the environment, for processes that refresh tokens
    without the settings at hand (the same variables Settings reads)."""
    inline = os.environ.get("OAUTH_PROVIDERS")
    return load(os.environ.get("OAUTH_PROVIDERS_FILE") or None, json.loads(inline) if inline else None)


def client_for(
    provider_id: str | None,
    catalogue: Catalogue,
    configured: dict[str, dict[str, str]],
    on_connection: dict[str, Any] | None = None,
) -> OAuthClient:
    """The OAuth client of a provider (or of URLs the connection gives itself): the connection's own
    client id/secret and URLs win over OAUTH_CLIENTS[provider], which wins over the catalogue."""
    own = on_connection or {}
    provider = catalogue.get(provider_id) if provider_id else None
    if provider_id and provider is None:
        raise NotFound(
            f"no OAuth2 provider {provider_id!r}; known: {', '.join(sorted(catalogue))} "
            "(an operator adds one with OAUTH_PROVIDERS_FILE)",
            path="provider",
        )
    settings = configured.get(provider_id or "", {})
    client_id = own.get("clientId") or settings.get("clientId")
    client_secret = own.get("clientSecret") or settings.get("clientSecret") or ""
    token_url = own.get("tokenUrl") or settings.get("tokenUrl") or (provider.token_url if provider else None)
    if not token_url:
        raise OAuthError("an OAuth2 connection names a `provider` or gives a `tokenUrl`", path="provider")
    if not client_id:
        name = provider_id or "<provider>"
        raise OAuthError(
            f"no OAuth client for {name}: give clientId/clientSecret on the connection or set OAUTH_CLIENTS "
            f'to {{"{name}": {{"clientId": "...", "clientSecret": "..."}}}}',
            path="clientId",
        )
    scopes = own.get("scopes")
    return OAuthClient(
        integration_id=provider.name if provider else "the OAuth2 provider",
        client_id=str(client_id),
        client_secret=str(client_secret),
        authorize_url=str(
            own.get("authorizeUrl")
            or settings.get("authorizeUrl")
            or (provider.authorize_url if provider else "")
            or ""
        ),
        token_url=str(token_url),
        scopes=tuple(scopes) if scopes is not None else (provider.default_scopes if provider else ()),
        pkce=provider.pkce if provider else True,
        scope_separator=provider.scope_separator if provider else " ",
        extra_params=tuple(provider.authorize_params.items()) if provider else (),
        token_auth=str(own.get("tokenAuth") or (provider.token_auth if provider else "client_secret_post")),
    )
