"""The blocking Auth, Me: generated from baton/client/resources/accounts.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from collections.abc import Sequence
from datetime import datetime

from api.schemas.accounts import ApiKeyCreated, ApiKeyOut, TokenPair, UserOut
from api.schemas.base import Page
from baton.client.portal import Blocking
from baton.client.resources import accounts as aio


class Auth(Blocking[aio.Auth]):
    def register(self, email: str, password: str, first_name: str, last_name: str) -> UserOut:
        return self._portal.run(self._inner.register(email, password, first_name, last_name))

    def login(self, email: str, password: str) -> TokenPair:
        """Logs in and uses the access token for the calls that follow (see `refresh`)."""
        return self._portal.run(self._inner.login(email, password))

    def refresh(self, refresh_token: str) -> TokenPair:
        """New tokens for a refresh token; the client uses the new access token."""
        return self._portal.run(self._inner.refresh(refresh_token))

    def verify_email(self, token: str) -> UserOut:
        return self._portal.run(self._inner.verify_email(token))


class Me(Blocking[aio.Me]):
    def get(self) -> UserOut:
        return self._portal.run(self._inner.get())

    def create_api_key(
        self,
        name: str,
        scopes: Sequence[str],
        expires_at: datetime | None = None,
    ) -> ApiKeyCreated:
        """A new API key; its secret (`.key`) is in this answer only."""
        return self._portal.run(self._inner.create_api_key(name, scopes, expires_at))

    def api_keys(self, *, limit: int | None = None, cursor: str | None = None) -> Page[ApiKeyOut]:
        return self._portal.run(self._inner.api_keys(limit=limit, cursor=cursor))

    def delete_api_key(self, key_id: str) -> None:
        return self._portal.run(self._inner.delete_api_key(key_id))
