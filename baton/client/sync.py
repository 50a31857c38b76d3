"""The blocking client: the same resources and methods as AsyncClient, answering directly.

    with Client("http://127.0.0.1:8000", token="bat_...") as baton:
        run = baton.workflows.run(workspace_id, workflow_id, {"email": "ada@example.com"}, wait=True)
        for event in baton.executions.events(workspace_id, run.id):
            print(event.type, event.data)

Each method is the async one run on the client's own event loop, in a thread of its own, so it works the
same from a script, a notebook or a thread of a server that runs a loop already.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from baton.client import aio

P = ParamSpec("P")
T = TypeVar("T")


class Portal:
    """An event loop in a daemon thread, running the async client's coroutines for the calling thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="baton-client", daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self.run(anext_of(stream))
                except StopAsyncIteration:
                    return
        finally:
            closing = getattr(stream, "aclose", None)
            if closing is not None:
                self.run(closing())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


async def anext_of(stream: AsyncIterator[T]) -> T:
    return await stream.__anext__()


class Blocking:
    """A resource of the blocking client: its methods are the async resource's (see `blocking`)."""

    def __init__(self, inner: aio.Resource, portal: Portal) -> None:
        self._inner, self._portal = inner, portal


def blocking(method: Callable[Concatenate[Any, P], Awaitable[T]]) -> Callable[Concatenate[Blocking, P], T]:
    """The async resource's method, answering directly (same arguments, same types, same docstring)."""

    def call(self: Blocking, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async def work() -> T:
            return await method(self._inner, *args, **kwargs)

        return self._portal.run(work())

    call.__name__, call.__doc__ = method.__name__, method.__doc__
    return call


def iterating(
    method: Callable[Concatenate[Any, P], AsyncIterator[T]],
) -> Callable[Concatenate[Blocking, P], Iterator[T]]:
    """The async resource's iterator (pages, live events) as a plain one."""

    def call(self: Blocking, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return self._portal.iterate(method(self._inner, *args, **kwargs))

    call.__name__, call.__doc__ = method.__name__, method.__doc__
    return call


class Auth(Blocking):
    register = blocking(aio.Auth.register)
    login = blocking(aio.Auth.login)
    refresh = blocking(aio.Auth.refresh)
    verify_email = blocking(aio.Auth.verify_email)


class Me(Blocking):
    get = blocking(aio.Me.get)
    create_api_key = blocking(aio.Me.create_api_key)
    api_keys = blocking(aio.Me.api_keys)
    delete_api_key = blocking(aio.Me.delete_api_key)


class Workspaces(Blocking):
    create = blocking(aio.Workspaces.create)
    list = blocking(aio.Workspaces.list)
    iterate = iterating(aio.Workspaces.iterate)
    get = blocking(aio.Workspaces.get)
    update = blocking(aio.Workspaces.update)
    delete = blocking(aio.Workspaces.delete)
    members = blocking(aio.Workspaces.members)
    add_member = blocking(aio.Workspaces.add_member)
    update_member = blocking(aio.Workspaces.update_member)
    remove_member = blocking(aio.Workspaces.remove_member)
    audit_logs = blocking(aio.Workspaces.audit_logs)
    analytics = blocking(aio.Workspaces.analytics)
    set_plan = blocking(aio.Workspaces.set_plan)


class Catalogue(Blocking):
    integrations = blocking(aio.Catalogue.integrations)
    integration = blocking(aio.Catalogue.integration)
    templates = blocking(aio.Catalogue.templates)
    template = blocking(aio.Catalogue.template)
    use_template = blocking(aio.Catalogue.use_template)
    definition_schema = blocking(aio.Catalogue.definition_schema)


class Connections(Blocking):
    create = blocking(aio.Connections.create)
    list = blocking(aio.Connections.list)
    iterate = iterating(aio.Connections.iterate)
    get = blocking(aio.Connections.get)
    update = blocking(aio.Connections.update)
    delete = blocking(aio.Connections.delete)
    test = blocking(aio.Connections.test)
    authorize_url = blocking(aio.Connections.authorize_url)


class Workflows(Blocking):
    create = blocking(aio.Workflows.create)
    list = blocking(aio.Workflows.list)
    iterate = iterating(aio.Workflows.iterate)
    get = blocking(aio.Workflows.get)
    update = blocking(aio.Workflows.update)
    delete = blocking(aio.Workflows.delete)
    publish = blocking(aio.Workflows.publish)
    activate = blocking(aio.Workflows.activate)
    deactivate = blocking(aio.Workflows.deactivate)
    duplicate = blocking(aio.Workflows.duplicate)
    versions = blocking(aio.Workflows.versions)
    version = blocking(aio.Workflows.version)
    restore = blocking(aio.Workflows.restore)
    run = blocking(aio.Workflows.run)
    schedule = blocking(aio.Workflows.schedule)
    backfill = blocking(aio.Workflows.backfill)
    export = blocking(aio.Workflows.export)
    import_ = blocking(aio.Workflows.import_)


class Executions(Blocking):
    list = blocking(aio.Executions.list)
    iterate = iterating(aio.Executions.iterate)
    get = blocking(aio.Executions.get)
    timeline = blocking(aio.Executions.timeline)
    cancel = blocking(aio.Executions.cancel)
    retry = blocking(aio.Executions.retry)
    resume = blocking(aio.Executions.resume)
    pause = blocking(aio.Executions.pause)
    unpause = blocking(aio.Executions.unpause)
    replay_in_bulk = blocking(aio.Executions.replay_in_bulk)
    batch = blocking(aio.Executions.batch)
    decide = blocking(aio.Executions.decide)
    logs = blocking(aio.Executions.logs)
    events = iterating(aio.Executions.events)
    workspace_events = iterating(aio.Executions.workspace_events)


class Approvals(Blocking):
    list = blocking(aio.Approvals.list)
    link = blocking(aio.Approvals.link)
    decide_by_link = blocking(aio.Approvals.decide_by_link)


class Webhooks(Blocking):
    list = blocking(aio.Webhooks.list)
    rotate_secret = blocking(aio.Webhooks.rotate_secret)
    set_secret = blocking(aio.Webhooks.set_secret)
    delete_secret = blocking(aio.Webhooks.delete_secret)
    call = blocking(aio.Webhooks.call)


class Health(Blocking):
    alive = blocking(aio.Health.alive)
    ready = blocking(aio.Health.ready)


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
