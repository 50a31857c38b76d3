"""Accounts: register, log in (the client then uses the token), API keys and the caller's own profile."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

from collections.abc import Sequence
from datetime import datetime

from api.schemas.accounts import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginBody,
    RefreshBody,
    RegisterBody,
    TokenPair,
    UserOut,
    VerifyEmailBody,
)
from api.schemas.base import Page
from baton.client.endpoints import API, Resource, endpoint


class Auth(Resource):
    @endpoint("POST", API + "/auth/register", UserOut, body=RegisterBody)
    async def register(self, email: str, password: str, first_name: str, last_name: str) -> UserOut: ...

    async def login(self, email: str, password: str) -> TokenPair:
        """Logs in and uses the access token for the calls that follow (see `refresh`)."""
        return self._use(await self._login(email, password))

    async def refresh(self, refresh_token: str) -> TokenPair:
        """New tokens for a refresh token; the client uses the new access token."""
        return self._use(await self._refresh(refresh_token))

    @endpoint("POST", API + "/auth/verify-email", UserOut, body=VerifyEmailBody)
    async def verify_email(self, token: str) -> UserOut: ...

    @endpoint("POST", API + "/auth/login", TokenPair, body=LoginBody)
    async def _login(self, email: str, password: str) -> TokenPair: ...

    @endpoint("POST", API + "/auth/refresh", TokenPair, body=RefreshBody)
    async def _refresh(self, refresh_token: str) -> TokenPair: ...

    def _use(self, tokens: TokenPair) -> TokenPair:
        self.http.client.headers["Authorization"] = f"Bearer {tokens.access_token}"
        return tokens


class Me(Resource):
    @endpoint("GET", API + "/me", UserOut)
    async def get(self) -> UserOut: ...

    @endpoint("POST", API + "/me/api-keys", ApiKeyCreated, body=ApiKeyCreate)
    async def create_api_key(
        self, name: str, scopes: Sequence[str], expires_at: datetime | None = None
    ) -> ApiKeyCreated:
        """A new API key; its secret (`.key`) is in this answer only."""

    @endpoint("GET", API + "/me/api-keys", Page[ApiKeyOut], query=("limit", "cursor"))
    async def api_keys(self, *, limit: int | None = None, cursor: str | None = None) -> Page[ApiKeyOut]: ...

    @endpoint("DELETE", API + "/me/api-keys/{key_id}")
    async def delete_api_key(self, key_id: str) -> None: ...
