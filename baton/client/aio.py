"""The asynchronous client: every endpoint of the REST API (API.md), typed with the server's own models.

    async with AsyncClient("http://127.0.0.1:8000", token="bat_...") as baton:
        workspace = (await baton.workspaces.list()).items[0]
        async for run in baton.executions.iterate(workspace.id, status="FAILED"):
            print(run.id, run.error)

Answers of 400 and more raise ApiError subclasses (baton.client.errors) carrying the error body. A call
answered 429 or 503, or that could not reach Baton, is retried (up to `max_retries`, after Retry-After or
a growing pause) with the same `Idempotency-Key`, which the POSTs carry: a run started by a call whose
answer was lost is not started twice.

The resources live in baton/client/resources/, one module per area, each endpoint described once
(baton/client/endpoints.py); the transport in baton/client/transport.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from api.schemas.executions import ExecutionDetail
from baton.client.endpoints import Resource
from baton.client.resources.accounts import Auth, Me
from baton.client.resources.catalogue import Catalogue
from baton.client.resources.connections import Connections
from baton.client.resources.executions import Executions
from baton.client.resources.webhooks import Approvals, Health, Webhooks
from baton.client.resources.workflows import Workflows
from baton.client.resources.workspaces import Workspaces
from baton.client.transport import DEFAULT_URL, UNSET, Event, HookAnswer, Http

__all__ = [
    "DEFAULT_URL",
    "UNSET",
    "Approvals",
    "AsyncClient",
    "Auth",
    "Catalogue",
    "Connections",
    "Event",
    "Executions",
    "Health",
    "HookAnswer",
    "Me",
    "Resource",
    "Webhooks",
    "Workflows",
    "Workspaces",
]


class AsyncClient:
    """Baton's REST API. `token`: an API key (`bat_...`) or a login access token (or call
    `auth.login(...)`). The resources: auth, me, workspaces, catalogue, connections, workflows,
    executions, approvals, webhooks, health."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "baton-client/0.1", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        http = Http(self._http, max_retries, backoff)
        self.auth = Auth(http)
        self.me = Me(http)
        self.workspaces = Workspaces(http)
        self.catalogue = Catalogue(http)
        self.connections = Connections(http)
        self.workflows = Workflows(http)
        self.executions = Executions(http)
        self.approvals = Approvals(http)
        self.webhooks = Webhooks(http)
        self.health = Health(http)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def wait_for(
        self,
        workspace_id: str,
        execution_id: str,
        until: Callable[[ExecutionDetail], bool] | None = None,
        *,
        timeout: float = 60.0,
        interval: float = 0.5,
    ) -> ExecutionDetail:
        """Polls a run until `until` holds (default: it ended); raises TimeoutError with its last state."""
        done = until or (lambda run: run.completed_at is not None)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            run = await self.executions.get(workspace_id, execution_id)
            if done(run):
                return run
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"run {execution_id} is still {run.status} after {timeout:.0f} s")
            await asyncio.sleep(interval)
