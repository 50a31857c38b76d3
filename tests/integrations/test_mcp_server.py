"""Workflows served as MCP tools (api.mcp_server): the official MCP SDK's client, against the API served by
uvicorn and a real worker, lists a workspace's opted-in workflows with their trigger's input schema, calls
one and gets its result, calls a long one and fetches its result later; keys are held to their scopes and
to their own workspace."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from core.settings import Settings
from tests.api.conftest import served_api, sign_up
from tests.engine import Engine
from tests.integrations.conftest import eventually

ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}


@dataclass
class Tenant:
    api: httpx.AsyncClient
    headers: dict[str, str]
    workspace_id: str

    @property
    def url(self) -> str:
        return f"{str(self.api.base_url).rstrip('/')}/api/v1/workspaces/{self.workspace_id}/mcp"

    async def publish(self, name: str, trigger_config: dict[str, Any], steps: list[dict[str, Any]]) -> str:
        base = f"/api/v1/workspaces/{self.workspace_id}/workflows"
        body = {"name": name, "triggerType": "MANUAL", "triggerConfig": trigger_config, "steps": steps}
        created = await self.api.post(base, headers=self.headers, json=body)
        assert created.status_code == 201, created.text
        workflow_id = str(created.json()["id"])
        published = await self.api.post(f"{base}/{workflow_id}/publish", headers=self.headers, json={})
        assert published.status_code == 201, published.text
        return workflow_id

    async def key(self, *scopes: str) -> str:
        created = await self.api.post(
            "/api/v1/me/api-keys", headers=self.headers, json={"name": "mcp", "scopes": list(scopes)}
        )
        assert created.status_code == 201, created.text
        return str(created.json()["key"])


async def tenant(api: httpx.AsyncClient) -> Tenant:
    headers = await sign_up(api, f"mcp-{uuid.uuid4().hex[:6]}@example.com")
    workspace = (await api.post("/api/v1/workspaces", headers=headers, json={"name": "Tools"})).json()
    return Tenant(api, headers, workspace["id"])


@asynccontextmanager
async def mcp_client(url: str, key: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), cache=None) as client,
    ):
        yield client


@pytest.fixture
async def api(
    settings: Settings,
    engine: AsyncEngine,
    engine_worker: Engine,  # noqa: ARG001 (the worker that runs the tools' runs)
) -> AsyncIterator[httpx.AsyncClient]:
    await seed(engine)
    async with served_api(settings) as client:
        yield client


async def test_a_published_workflow_is_a_tool_whose_call_answers_its_result(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    owner = await tenant(api)
    await owner.publish(
        "Add numbers",
        {"inputSchema": ADD_SCHEMA, "mcp": {"description": "Adds a and b"}},
        [{"id": "sum", "type": "set", "values": {"total": "{{ trigger.a + trigger.b }}"}}],
    )
    await owner.publish("Not a tool", {}, [{"id": "noop", "type": "set", "values": {"x": 1}}])
    async with mcp_client(owner.url, await owner.key("workflows:read", "executions:write")) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"add_numbers", "get_run_result"}
        assert tools["add_numbers"].description == "Adds a and b"
        assert tools["add_numbers"].input_schema == ADD_SCHEMA
        answer = await client.call_tool("add_numbers", {"a": 2, "b": 3})
        assert not answer.is_error, answer
        assert answer.structured_content is not None
        assert answer.structured_content["status"] == "SUCCESS"
        assert answer.structured_content["result"] == {"total": 5}
        audited = await db.fetchrow(
            "SELECT workspace_id, metadata FROM audit_logs "
            "WHERE entity_id = $1 AND action = 'workflow.executed'",
            answer.structured_content["executionId"],
        )
        assert audited is not None
        assert audited["workspace_id"] == owner.workspace_id
        assert json.loads(audited["metadata"])["via"] == "mcp"
        wrong = await client.call_tool("add_numbers", {"a": "two", "b": 3})
        assert wrong.is_error
        assert wrong.structured_content is not None
        assert wrong.structured_content["path"] == "a"


async def test_a_long_run_answers_a_handle_and_its_result_is_fetched_later(api: httpx.AsyncClient) -> None:
    owner = await tenant(api)
    await owner.publish(
        "Slow report",
        {"mcp": {"waitSeconds": 0}},
        [
            {"id": "pause", "type": "delay", "seconds": 2},
            {"id": "done", "type": "set", "values": {"report": "ready"}},
        ],
    )
    async with mcp_client(owner.url, await owner.key("workflows:read", "executions:write")) as client:
        started = await client.call_tool("slow_report", {})
        assert started.structured_content is not None
        assert started.structured_content["status"] in {"PENDING", "RUNNING"}, started
        execution_id = started.structured_content["executionId"]

        async def finished() -> dict[str, Any] | None:
            read = await client.call_tool("get_run_result", {"executionId": execution_id})
            content = read.structured_content or {}
            return content if content.get("status") == "SUCCESS" else None

        result = await eventually(finished, timeout=30)
    assert result is not None, "the run did not finish"
    assert result["result"] == {"report": "ready"}


async def test_keys_keep_to_their_scopes_and_their_workspace(api: httpx.AsyncClient) -> None:
    owner = await tenant(api)
    await owner.publish(
        "Add numbers",
        {"inputSchema": ADD_SCHEMA, "mcp": {}},
        [{"id": "sum", "type": "set", "values": {"total": "{{ trigger.a + trigger.b }}"}}],
    )
    async with mcp_client(owner.url, await owner.key("workflows:read")) as reader:
        assert "add_numbers" in {t.name for t in (await reader.list_tools()).tools}
        refused = await reader.call_tool("add_numbers", {"a": 1, "b": 1})
        assert refused.is_error
        assert refused.structured_content is not None
        assert refused.structured_content["error"] == "forbidden"
    async with mcp_client(owner.url, await owner.key("workflows:read", "executions:write")) as client:
        ran = await client.call_tool("add_numbers", {"a": 1, "b": 1})
        assert ran.structured_content is not None
        execution_id = ran.structured_content["executionId"]

    other = await tenant(api)
    other_key = await other.key("workflows:read", "executions:write")
    async with mcp_client(other.url, other_key) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"get_run_result"}
        peek = await client.call_tool("get_run_result", {"executionId": execution_id})
        assert peek.is_error
        assert peek.structured_content is not None
        assert peek.structured_content["error"] == "not_found"
    # another workspace's server is not found at all, and nobody without a key gets in
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Authorization": f"Bearer {other_key}", "Accept": "application/json, text/event-stream"}
    assert (await api.post(owner.url, headers=headers, json=initialize)).status_code == 404
    assert (await api.post(owner.url, json=initialize)).status_code == 401


async def test_the_trigger_fields_are_in_the_api_schema(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    manual = schemas["ManualTriggerConfig"]["properties"]
    assert {"inputSchema", "mcp"} <= set(manual)
    assert {"tool", "name", "description", "waitSeconds"} <= set(schemas["McpServing"]["properties"])


async def test_a_manual_run_whose_payload_breaks_the_input_schema_is_a_422(api: httpx.AsyncClient) -> None:
    owner = await tenant(api)
    workflow_id = await owner.publish(
        "Add numbers",
        {"inputSchema": ADD_SCHEMA},
        [{"id": "sum", "type": "set", "values": {"total": "{{ trigger.a + trigger.b }}"}}],
    )
    run = f"/api/v1/workspaces/{owner.workspace_id}/workflows/{workflow_id}/run"
    refused = await api.post(run, headers=owner.headers, json={"payload": {"a": "two", "b": 3}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["path"] == "payload.a"
    started = await api.post(run, headers=owner.headers, json={"payload": {"a": 2, "b": 3}})
    assert started.status_code == 202, started.text
