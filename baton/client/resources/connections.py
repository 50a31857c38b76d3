"""Connections: stored credentials for integrations, their test and the OAuth2 consent URL."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

from collections.abc import AsyncIterator
from typing import Any

from api.schemas.base import Page
from api.schemas.connections import ConnectionCreate, ConnectionOut, ConnectionTest, ConnectionUpdate
from baton.client.endpoints import JSON, WS, Resource, endpoint, pages
from baton.client.transport import UNSET

CONNECTION = WS + "/connections/{connection_id}"


class Connections(Resource):
    @endpoint("POST", WS + "/connections", ConnectionOut, body=ConnectionCreate)
    async def create(
        self,
        workspace_id: str,
        integration_id: str,
        name: str,
        credentials: dict[str, Any] | None = None,
        *,
        rate_limit: dict[str, Any] | None = None,
    ) -> ConnectionOut: ...

    @endpoint("GET", WS + "/connections", Page[ConnectionOut], query=("limit", "cursor"))
    async def list(
        self, workspace_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[ConnectionOut]: ...

    @pages(WS + "/connections", ConnectionOut)
    def iterate(self, workspace_id: str) -> AsyncIterator[ConnectionOut]: ...

    @endpoint("GET", CONNECTION, ConnectionOut)
    async def get(self, workspace_id: str, connection_id: str) -> ConnectionOut: ...

    @endpoint("PATCH", CONNECTION, ConnectionOut, body=ConnectionUpdate)
    async def update(
        self,
        workspace_id: str,
        connection_id: str,
        *,
        name: str = UNSET,
        credentials: dict[str, Any] = UNSET,
        is_active: bool = UNSET,
        rate_limit: dict[str, Any] | None = UNSET,
    ) -> ConnectionOut: ...

    @endpoint("DELETE", CONNECTION)
    async def delete(self, workspace_id: str, connection_id: str) -> None: ...

    @endpoint("POST", CONNECTION + "/test", ConnectionTest)
    async def test(self, workspace_id: str, connection_id: str) -> ConnectionTest: ...

    async def authorize_url(self, workspace_id: str, integration_id: str, name: str | None = None) -> str:
        """The OAuth2 consent URL to send a user's browser to (the callback creates the connection)."""
        return str((await self._authorize(workspace_id, integration_id, name))["authorizeUrl"])

    @endpoint(
        "GET",
        WS + "/connections/oauth/{integration_id}/authorize",
        JSON,
        query=("name",),
        fixed_query={"redirect": False},
    )
    async def _authorize(self, workspace_id: str, integration_id: str, name: str | None) -> Any: ...
