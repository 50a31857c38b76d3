"""Services described by OpenAPI (integrations.openapi): three published documents of different styles
(tests/fixtures/openapi, see its NOTICE.md) imported by an instance admin through the API, listed in the
catalogue, and run as steps by a worker started after the import against a local server playing the
service; bad documents are 422s naming the JSON path; calls go through the egress guard."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from baton.cli_integrations import _import
from baton.seeding import seed
from core.settings import Settings
from integrations.catalogue import IMPORTED_IDS, forget_imported
from integrations.openapi import DOCS_SECTION
from integrations.openapi.document import parse_document, read_service
from integrations.openapi.imports import keep_imported_services
from integrations.openapi.service import build_integration
from tests.api.conftest import api_client_for, sign_up
from tests.conftest import running_engine
from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import eventually

DOCUMENTS = Path(__file__).parents[1] / "fixtures" / "openapi"


def document(name: str) -> str:
    return (DOCUMENTS / name).read_text()


@dataclass
class Operator:
    """An instance admin's API client and a workspace of theirs."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    base: str
    settings: Settings

    async def import_(self, text: str | dict[str, Any], **fields: Any) -> httpx.Response:
        return await self.client.post(
            "/api/v1/integrations/import", headers=self.headers, json={"document": text, **fields}
        )

    async def publish(self, steps: list[dict[str, Any]]) -> httpx.Response:
        body = {
            "name": f"wf-{uuid.uuid4().hex[:6]}",
            "triggerType": "MANUAL",
            "triggerConfig": {},
            "steps": steps,
        }
        created = await self.client.post(f"{self.base}/workflows", headers=self.headers, json=body)
        if created.status_code != 201:
            return created
        workflow_id = created.json()["id"]
        published = await self.client.post(
            f"{self.base}/workflows/{workflow_id}/publish", headers=self.headers, json={}
        )
        assert published.status_code == 201, published.text
        return created

    async def run(self, workflow_id: str) -> dict[str, Any]:
        started = await self.client.post(
            f"{self.base}/workflows/{workflow_id}/run",
            headers=self.headers,
            params={"wait": "true", "timeoutSeconds": 60},
            json={"payload": {}},
        )
        assert started.status_code == 200, started.text
        detail = await self.client.get(f"{self.base}/executions/{started.json()['id']}", headers=self.headers)
        execution: dict[str, Any] = detail.json()
        execution["steps"] = {s["stepId"]: s for s in execution["stepExecutions"]}
        return execution

    async def connect(self, integration_id: str, credentials: dict[str, Any]) -> str:
        created = await self.client.post(
            f"{self.base}/connections",
            headers=self.headers,
            json={"integrationId": integration_id, "name": integration_id, "credentials": credentials},
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


@pytest.fixture
async def operator(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Operator]:
    await seed(engine)
    async with api_client_for(settings) as setup:
        headers = await sign_up(setup, f"ops-{uuid.uuid4().hex[:6]}@example.com")
        operator_id = (await setup.get("/api/v1/me", headers=headers)).json()["id"]
    admins = settings.model_copy(update={"instance_admins": [operator_id]})
    before = set(IMPORTED_IDS)
    try:
        async with api_client_for(admins) as client:
            workspace = (
                await client.post("/api/v1/workspaces", headers=headers, json={"name": "Ops"})
            ).json()
            yield Operator(client, headers, f"/api/v1/workspaces/{workspace['id']}", admins)
    finally:
        for integration_id in set(IMPORTED_IDS) - before:  # this process's catalogue, as it was
            forget_imported(integration_id)


WorkerStarter = Callable[[Settings], AbstractAsyncContextManager[Engine]]


@pytest.fixture
def worker_started_now(
    temporal_client: Client, engine: AsyncEngine, redis: Redis, task_queue: str, db: asyncpg.Connection
) -> WorkerStarter:
    """Starts a worker after the import, knowing only what is stored (not this process's catalogue)."""

    @asynccontextmanager
    async def started(settings: Settings) -> AsyncIterator[Engine]:
        for integration_id in list(IMPORTED_IDS):
            forget_imported(integration_id)
        async with running_engine(temporal_client, settings, engine, redis, task_queue, db) as running:
            yield running

    return started


@pytest.fixture
def service() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def header(seen_headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in seen_headers.items() if k.lower() == name.lower()), None)


def test_three_published_documents_read_as_typed_actions() -> None:
    expanded = read_service(parse_document(document("petstore-expanded.yaml")), service_id="pets")
    assert [o["key"] for o in expanded["operations"]] == [
        "find_pets",
        "add_pet",
        "find_pet_by_id",
        "delete_pet",
    ]
    find = expanded["operations"][0]
    assert find["inputSchema"]["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "tags to filter by",
    }
    # the 2xx response's schema, its allOf references inlined
    pet = find["outputSchema"]["properties"]["body"]["items"]["allOf"]
    assert pet[0]["required"] == ["name"]
    assert pet[1]["properties"]["id"]["type"] == "integer"
    assert expanded["operations"][1]["inputSchema"]["required"] == ["body"]

    uspto = read_service(parse_document(document("uspto.yaml")))
    assert uspto["id"] == "uspto_data_set_api"
    assert uspto["baseUrl"] == "https://developer.uspto.gov/ds-api"  # the server variable's default
    search = next(o for o in uspto["operations"] if o["key"] == "perform_search")
    assert search["body"]["kind"] == "form"
    assert search["inputSchema"]["required"] == ["version", "dataset"]

    petstore = read_service(parse_document(document("swagger-petstore.yaml")))
    assert petstore["securitySchemes"]["api_key"] == {"connection": "header", "name": "api_key"}
    assert petstore["securitySchemes"]["petstore_auth"]["connection"] == "oauth2"
    by_id = next(o for o in petstore["operations"] if o["key"] == "get_pet_by_id")
    assert by_id["security"] == ["api_key", "petstore_auth"]
    upload = next(o for o in petstore["operations"] if o["key"] == "upload_file")
    assert upload["body"]["kind"] == "raw"
    assert upload["body"]["mediaType"] == "application/octet-stream"


async def test_an_imported_service_is_listed_and_runs_in_a_worker_started_after_the_import(
    operator: Operator,
    service: ScriptedServer,
    worker_started_now: WorkerStarter,
) -> None:
    imported = await operator.import_(document("petstore-expanded.yaml"), id="pets", baseUrl=service.base_url)
    assert imported.status_code == 201, imported.text
    detail = imported.json()
    assert detail["category"] == "imported"
    assert detail["isActive"]
    assert {a["id"] for a in detail["actions"]} == {
        "pets.find_pets",
        "pets.add_pet",
        "pets.find_pet_by_id",
        "pets.delete_pet",
    }
    listed = await operator.client.get("/api/v1/integrations", headers=operator.headers)
    assert "pets" in {i["id"] for i in listed.json()["items"]}
    shown = await operator.client.get("/api/v1/integrations/pets", headers=operator.headers)
    assert shown.status_code == 200
    assert len(shown.json()["actions"]) == 4

    service.script("/pets", Reply(200, {"id": 7, "name": "Rex", "tag": "dog"}))
    service.script("/pets/7", Reply(200, {"id": 7, "name": "Rex", "tag": "dog"}))
    steps = [
        {
            "id": "add",
            "type": "action",
            "action": "pets.add_pet",
            "input": {"body": {"name": "Rex", "tag": "dog"}},
        },
        {
            "id": "find",
            "type": "action",
            "action": "pets.find_pet_by_id",
            "input": {"id": "{{ steps.add.output.body.id }}"},
        },
        {
            "id": "search",
            "type": "action",
            "action": "pets.find_pets",
            "input": {"tags": ["dog", "cat"], "limit": 2},
        },
    ]
    created = await operator.publish(steps)
    assert created.status_code == 201, created.text
    async with worker_started_now(operator.settings):
        assert "pets" in IMPORTED_IDS  # forgotten above: loaded again from PostgreSQL by the worker
        execution = await operator.run(created.json()["id"])
    assert execution["status"] == "SUCCESS", execution
    assert execution["steps"]["find"]["output"]["body"] == {"id": 7, "name": "Rex", "tag": "dog"}
    add, search = [r for r in service.requests if r.path == "/pets"]
    assert add.method == "POST"
    assert json.loads(add.body) == {"name": "Rex", "tag": "dog"}
    assert header(add.headers, "content-type") == "application/json"
    assert header(add.headers, "idempotency-key")  # stable across the step's retries
    (found,) = service.hits("/pets/7")
    assert found.method == "GET"
    assert search.method == "GET"
    assert search.query == {"tags": ["dog", "cat"], "limit": ["2"]}


async def test_form_bodies_path_parameters_and_an_api_key_scheme(
    operator: Operator,
    service: ScriptedServer,
    worker_started_now: WorkerStarter,
) -> None:
    uspto = await operator.import_(document("uspto.yaml"), id="uspto", baseUrl=f"{service.base_url}/ds-api")
    assert uspto.status_code == 201, uspto.text
    petstore = await operator.import_(document("swagger-petstore.yaml"), baseUrl=f"{service.base_url}/api/v3")
    assert petstore.status_code == 201, petstore.text
    petstore_id = petstore.json()["id"]
    assert petstore.json()["authType"] == "OAUTH2"
    key = await operator.connect(petstore_id, {"type": "header", "value": "s3cret-key"})

    service.script("/ds-api/oa_citations/v1/records", Reply(200, [{"patent": "US123"}]))
    # a service that echoes the key back: the run keeps a stand-in, never the key
    service.script(
        "/api/v3/pet/5", Reply(200, {"id": 5, "name": "Tom", "photoUrls": [], "note": "s3cret-key"})
    )
    steps = [
        {
            "id": "search",
            "type": "action",
            "action": "uspto.perform_search",
            "input": {"dataset": "oa_citations", "version": "v1", "body": {"criteria": "*:*", "rows": 2}},
        },
        {
            "id": "pet",
            "type": "action",
            "action": f"{petstore_id}.get_pet_by_id",
            "connectionId": key,
            "input": {"petId": 5},
        },
    ]
    created = await operator.publish(steps)
    assert created.status_code == 201, created.text
    async with worker_started_now(operator.settings):
        execution = await operator.run(created.json()["id"])
    assert execution["status"] == "SUCCESS", execution
    (search,) = service.hits("/ds-api/oa_citations/v1/records")
    assert search.method == "POST"
    assert header(search.headers, "content-type") == "application/x-www-form-urlencoded"
    assert parse_qs(search.body.decode()) == {"criteria": ["*:*"], "rows": ["2"]}
    assert execution["steps"]["search"]["output"]["body"] == [{"patent": "US123"}]
    (pet,) = service.hits("/api/v3/pet/5")
    assert header(pet.headers, "api_key") == "s3cret-key"  # the scheme's header name, from the document
    assert "s3cret-key" not in json.dumps(execution)


async def test_a_definition_is_checked_against_the_operations_schema(operator: Operator) -> None:
    assert (await operator.import_(document("petstore-expanded.yaml"), id="pets")).status_code == 201
    created = await operator.publish(
        [{"id": "find", "type": "action", "action": "pets.find_pet_by_id", "input": {"limit": 3}}]
    )
    assert created.status_code == 422, created.text
    detail = created.json()["detail"]
    assert "steps[0].input.id: is required" in detail
    assert "'limit' was unexpected" in detail  # a parameter of another operation


async def test_an_imported_service_on_a_private_address_is_refused_by_the_egress_guard(
    operator: Operator,
    worker_started_now: WorkerStarter,
) -> None:
    imported = await operator.import_(
        document("petstore-expanded.yaml"), id="pets", baseUrl="http://169.254.169.254/latest"
    )
    assert imported.status_code == 201, imported.text
    created = await operator.publish(
        [{"id": "list", "type": "action", "action": "pets.find_pets", "input": {}}]
    )
    async with worker_started_now(operator.settings):
        execution = await operator.run(created.json()["id"])
    assert execution["status"] == "FAILED"
    assert "BlockedAddress" in json.dumps(execution["steps"]["list"]), execution["steps"]["list"]


async def test_only_an_instance_admin_imports_and_a_built_in_id_is_refused(
    operator: Operator,
) -> None:
    tenant = await sign_up(operator.client, f"tenant-{uuid.uuid4().hex[:6]}@example.com")
    refused = await operator.client.post(
        "/api/v1/integrations/import", headers=tenant, json={"document": document("uspto.yaml")}
    )
    assert refused.status_code == 403, refused.text
    taken = await operator.import_(document("uspto.yaml"), id="http")
    assert taken.status_code == 409
    assert taken.json()["path"] == "id"


async def test_the_cli_imports_and_importing_again_replaces_the_actions(
    settings: Settings, engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    await seed(engine)
    try:
        lines = await _import(settings, document("uspto.yaml").encode(), "uspto", None)
        assert lines[0] == "Imported uspto (USPTO Data Set API): 3 actions"
        smaller = parse_document(document("uspto.yaml"))
        del smaller["paths"]["/"]
        await _import(settings, json.dumps(smaller).encode(), "uspto", None)
        rows = await db.fetch("SELECT id, is_active FROM actions WHERE integration_id = 'uspto' ORDER BY id")
        assert {r["id"]: r["is_active"] for r in rows} == {
            "uspto.list_data_sets": False,  # gone from the document: deactivated, workflows may name it
            "uspto.list_searchable_fields": True,
            "uspto.perform_search": True,
        }
        # `baton seed` leaves imported services alone
        await seed(engine)
        assert await db.fetchval("SELECT is_active FROM integrations WHERE id = 'uspto'") is True
    finally:
        forget_imported("uspto")


async def test_the_docs_examples_are_valid_steps_of_the_imported_petstore(operator: Operator) -> None:
    assert (await operator.import_(document("petstore-expanded.yaml"), id="pets")).status_code == 201
    connection = await operator.connect("pets", {"type": "bearer", "token": "t"})
    blocks = re.findall(r"```json\n(.*?)```", DOCS_SECTION, re.S)
    steps = [json.loads(block.replace("…", connection)) for block in blocks]
    assert len(steps) == 2
    created = await operator.publish(steps)
    assert created.status_code == 201, created.text


async def test_an_api_process_learns_of_an_import_made_elsewhere(
    settings: Settings, engine: AsyncEngine
) -> None:
    await seed(engine)
    refreshing = asyncio.create_task(keep_imported_services(engine, interval=0.1))
    try:
        await _import(settings, document("uspto.yaml").encode(), "uspto", None)
        forget_imported("uspto")  # as a process that did not make the import knows it

        async def known() -> bool:
            return "uspto" in IMPORTED_IDS

        assert await eventually(known, timeout=10)
    finally:
        refreshing.cancel()
        forget_imported("uspto")


def test_security_schemes_map_to_connection_kinds_and_the_oauth2_flow() -> None:
    service = read_service(
        {
            "openapi": "3.1.0",
            "info": {"title": "Calendar", "version": "1"},
            "servers": [{"url": "https://calendar.example.com/v1"}],
            "paths": {"/events": {"get": {"security": [{"oauth": ["events.read"]}], "responses": {}}}},
            "components": {
                "securitySchemes": {
                    "oauth": {
                        "type": "oauth2",
                        "flows": {
                            "authorizationCode": {
                                "authorizationUrl": "https://login.example.com/authorize",
                                "tokenUrl": "https://login.example.com/token",
                                "scopes": {"events.read": "read events"},
                            }
                        },
                    },
                    "token": {"type": "http", "scheme": "bearer"},
                    "key": {"type": "apiKey", "in": "query", "name": "api_key"},
                }
            },
        }
    )
    assert service["securitySchemes"]["token"] == {"connection": "bearer"}
    assert service["securitySchemes"]["key"] == {"connection": "query", "name": "api_key"}
    assert service["operations"][0]["key"] == "get_events"  # no operationId: method and path
    integration = build_integration(service)
    assert integration.auth_type.value == "OAUTH2"
    assert integration.oauth2 is not None
    assert integration.oauth2.authorize_url == "https://login.example.com/authorize"
    assert integration.oauth2.token_url == "https://login.example.com/token"
    assert integration.oauth2.scopes == ("events.read",)
