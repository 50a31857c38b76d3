"""The client's surface without a server: every blocking method shows the async one's real parameters
and docstring (help() reads the signature each derived method carries), and every endpoint the client
describes is a route of the API."""

from __future__ import annotations

import inspect
import json
import pydoc
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from api.app import create_app
from baton.client import AsyncClient, Client, NotFound
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer

RESOURCES = [
    "auth",
    "me",
    "workspaces",
    "catalogue",
    "connections",
    "workflows",
    "executions",
    "approvals",
    "webhooks",
    "health",
]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Client("http://127.0.0.1:9") as baton:  # nothing is called: only its methods are read
        yield baton


def _public_methods(resource: object) -> Iterator[tuple[str, Any]]:
    for name in dir(type(resource)):
        if not name.startswith("_") and callable(getattr(resource, name)):
            yield name, getattr(resource, name)


def test_the_async_client_has_the_resources_this_test_walks() -> None:
    baton = AsyncClient("http://127.0.0.1:9")
    assert sorted(RESOURCES) == sorted(n for n, v in vars(baton).items() if not n.startswith("_"))


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_blocking_method_has_the_async_ones_parameters_and_docstring(
    client: Client, resource: str
) -> None:
    asynchronous = getattr(client._async, resource)
    blocking = getattr(client, resource)
    async_methods = dict(_public_methods(asynchronous))
    assert async_methods
    assert sorted(async_methods) == sorted(name for name, _ in _public_methods(blocking))
    for name, method in async_methods.items():
        expected = inspect.signature(method)
        shown = inspect.signature(getattr(blocking, name))
        assert list(shown.parameters.values()) == list(expected.parameters.values()), f"{resource}.{name}"
        returns = str(expected.return_annotation).replace("AsyncIterator[", "Iterator[")
        assert str(shown.return_annotation) == returns, f"{resource}.{name}"
        assert inspect.getdoc(getattr(blocking, name)) == inspect.getdoc(method), f"{resource}.{name}"
        assert "*args" not in str(shown), f"{resource}.{name}"


def _help(method: Any) -> str:
    """What help(method) prints."""
    return pydoc.render_doc(method, renderer=pydoc.plaintext)  # type: ignore[attr-defined]


def test_help_on_workflows_create_shows_its_parameters(client: Client) -> None:
    shown = _help(client.workflows.create)
    assert "create(workspace_id: str, name: str, trigger_type: str, steps: " in shown
    assert "priority: int | None = None) -> api.schemas.workflows.WorkflowOut" in shown
    assert "A new draft (publish it to run it)" in shown
    events = _help(client.executions.events)
    assert "last_event_id: str | None = None) -> collections.abc.Iterator[" in events


def test_every_endpoint_the_client_describes_is_a_route_of_the_api(settings: Settings) -> None:
    documented = create_app(settings).openapi()["paths"]
    routes = [
        (re.compile(re.sub(r"{\w+}", "[^/]+", path)), {method.upper() for method in operations})
        for path, operations in documented.items()
    ]
    baton = AsyncClient("http://127.0.0.1:9")
    described = 0
    for resource in RESOURCES:
        kind = type(getattr(baton, resource))
        for name in dir(kind):
            endpoint = getattr(getattr(kind, name), "endpoint", None)
            if endpoint is None:
                continue
            described += 1
            # a sample path: each {name} filled, `action` with one of the values the API takes
            path = re.sub(r"{(\w+)}", lambda m: "retry" if m.group(1) == "action" else "x1", endpoint.path)
            served = any(pattern.fullmatch(path) and endpoint.method in verbs for pattern, verbs in routes)
            assert served, f"{resource}.{name}: {endpoint.method} {endpoint.path} is not a route of the API"
    assert described > 60


async def test_a_call_sends_what_its_description_says_and_only_the_fields_given(
    http_server: ScriptedServer,
) -> None:
    missing = Reply(404, {"error": "not_found", "detail": "no", "path": None})
    workspace = "/api/v1/workspaces/ws1"
    for path in (workspace, f"{workspace}/executions", f"{workspace}/workflows/wf1/publish"):
        http_server.script(path, missing)
    async with AsyncClient(http_server.base_url, max_retries=0) as baton:
        with pytest.raises(NotFound):  # a PATCH: None clears the field, what is not given is not sent
            await baton.workspaces.update("ws1", error_workflow_id=None)
        since = datetime(2026, 1, 1, tzinfo=UTC)
        with pytest.raises(NotFound):  # query names as the API spells them
            await baton.executions.list("ws1", workflow_id="wf1", since=since, limit=5)
        with pytest.raises(NotFound):  # a POST: None is left out
            await baton.workflows.publish("ws1", "wf1")
    (patched,) = http_server.hits("/api/v1/workspaces/ws1")
    assert (patched.method, json.loads(patched.body)) == ("PATCH", {"errorWorkflowId": None})
    (listed,) = http_server.hits("/api/v1/workspaces/ws1/executions")
    assert listed.query == {"workflowId": ["wf1"], "from": ["2026-01-01T00:00:00+00:00"], "limit": ["5"]}
    (published,) = http_server.hits("/api/v1/workspaces/ws1/workflows/wf1/publish")
    assert json.loads(published.body) == {}
    assert published.headers.get("Idempotency-Key")
