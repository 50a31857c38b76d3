"""The blocking Connections: generated from baton/client/resources/connections.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from collections.abc import Iterator
from typing import Any

from api.schemas.base import Page
from api.schemas.connections import ConnectionOut, ConnectionTest
from baton.client.portal import Blocking
from baton.client.resources import connections as aio
from baton.client.transport import UNSET


class Connections(Blocking[aio.Connections]):
    def create(
        self,
        workspace_id: str,
        integration_id: str,
        name: str,
        credentials: dict[str, Any] | None = None,
        *,
        rate_limit: dict[str, Any] | None = None,
    ) -> ConnectionOut:
        return self._portal.run(
            self._inner.create(
                workspace_id,
                integration_id,
                name,
                credentials,
                rate_limit=rate_limit,
            )
        )

    def list(
        self,
        workspace_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ConnectionOut]:
        return self._portal.run(self._inner.list(workspace_id, limit=limit, cursor=cursor))

    def iterate(self, workspace_id: str) -> Iterator[ConnectionOut]:
        return self._portal.iterate(self._inner.iterate(workspace_id))

    def get(self, workspace_id: str, connection_id: str) -> ConnectionOut:
        return self._portal.run(self._inner.get(workspace_id, connection_id))

    def update(
        self,
        workspace_id: str,
        connection_id: str,
        *,
        name: str = UNSET,
        credentials: dict[str, Any] = UNSET,
        is_active: bool = UNSET,
        rate_limit: dict[str, Any] | None = UNSET,
    ) -> ConnectionOut:
        return self._portal.run(
            self._inner.update(
                workspace_id,
                connection_id,
                name=name,
                credentials=credentials,
                is_active=is_active,
                rate_limit=rate_limit,
            )
        )

    def delete(self, workspace_id: str, connection_id: str) -> None:
        return self._portal.run(self._inner.delete(workspace_id, connection_id))

    def test(self, workspace_id: str, connection_id: str) -> ConnectionTest:
        return self._portal.run(self._inner.test(workspace_id, connection_id))

    def authorize_url(self, workspace_id: str, integration_id: str, name: str | None = None) -> str:
        """The OAuth2 consent URL to send a user's browser to (the callback creates the connection)."""
        return self._portal.run(self._inner.authorize_url(workspace_id, integration_id, name))
