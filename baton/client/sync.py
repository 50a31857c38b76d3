"""The blocking client: the same resources and methods as AsyncClient, answering directly.

    with Client("http://127.0.0.1:8000", token="bat_...") as baton:
        run = baton.workflows.run(workspace_id, workflow_id, {"email": "ada@example.com"}, wait=True)
        for event in baton.executions.events(workspace_id, run.id):
            print(event.type, event.data)

Its resources are derived from the async ones when this module is imported (baton/client/portal.py says
why, and what static type checkers see), so each method has the async one's real signature and docstring
for help(); each runs the async call on the client's own event loop, in a thread of its own, so it works
the same from a script, a notebook or a thread of a server that runs a loop already.
"""

from __future__ import annotations

from typing import Any

import httpx

from baton.client import aio
from baton.client.portal import Blocking, Portal, blocking

__all__ = ["Blocking", "Client", "Portal"]

Auth = blocking(aio.Auth)
Me = blocking(aio.Me)
Workspaces = blocking(aio.Workspaces)
Catalogue = blocking(aio.Catalogue)
Connections = blocking(aio.Connections)
Workflows = blocking(aio.Workflows)
Executions = blocking(aio.Executions)
Approvals = blocking(aio.Approvals)
Webhooks = blocking(aio.Webhooks)
Health = blocking(aio.Health)


class Client:
    """Baton's REST API, blocking. The arguments are AsyncClient's; so are the resources and methods."""

    def __init__(
        self,
        base_url: str = aio.DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._portal = Portal()

        async def make() -> aio.AsyncClient:  # httpx binds its pool to the loop that first uses it
            return aio.AsyncClient(
                base_url,
                token=token,
                timeout=timeout,
                max_retries=max_retries,
                backoff=backoff,
                transport=transport,
            )

        self._async = self._portal.run(make())
        inner, portal = self._async, self._portal
        self.auth = Auth(inner.auth, portal)
        self.me = Me(inner.me, portal)
        self.workspaces = Workspaces(inner.workspaces, portal)
        self.catalogue = Catalogue(inner.catalogue, portal)
        self.connections = Connections(inner.connections, portal)
        self.workflows = Workflows(inner.workflows, portal)
        self.executions = Executions(inner.executions, portal)
        self.approvals = Approvals(inner.approvals, portal)
        self.webhooks = Webhooks(inner.webhooks, portal)
        self.health = Health(inner.health, portal)

    @property
    def base_url(self) -> str:
        return self._async.base_url

    def wait_for(
        self, workspace_id: str, execution_id: str, until: Any = None, *, timeout: float = 60.0
    ) -> Any:
        """Polls a run until `until(run)` holds (default: it ended); see AsyncClient.wait_for."""
        return self._portal.run(self._async.wait_for(workspace_id, execution_id, until, timeout=timeout))

    def close(self) -> None:
        self._portal.run(self._async.aclose())
        self._portal.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
