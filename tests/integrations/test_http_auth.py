"""http.request authenticates with a connection's credentials, which stay encrypted and out of the records."""

from __future__ import annotations

import base64
import json
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowFailureError

from core.crypto import CredentialCipher
from core.redaction import REDACTED, Secrets, redact
from core.settings import Settings
from tests.engine import Engine, history_payloads
from tests.factories import create_user, create_workflow
from tests.http_server import EchoServer, Reply, ScriptedServer


async def create_connection(
    db: asyncpg.Connection,
    settings: Settings,
    workspace_id: str,
    credentials: dict[str, Any],
    *,
    active: bool = True,
) -> str:
    user_id = await create_user(db)
    if not await db.fetchval("SELECT 1 FROM integrations WHERE id = 'http'"):
        await db.execute(
            "INSERT INTO integrations (id, name, description, icon, category, auth_type) "
            "VALUES ('http', 'HTTP', 'd', 'i', 'developer', 'NONE')"
        )
    sealed = CredentialCipher.from_settings(settings).seal(credentials)
    return str(
        await db.fetchval(
            "INSERT INTO connections (user_id, workspace_id, integration_id, name, credentials, is_active) "
            "VALUES ($1, $2, 'http', 'api', $3, $4) RETURNING id",
            user_id,
            workspace_id,
            json.dumps(sealed),
            active,
        )
    )


def call(url: str, connection_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "call",
            "type": "action",
            "action": "http.request",
            "connectionId": connection_id,
            "input": {"url": url},
        }
    ]


@pytest.mark.parametrize(
    ("credentials", "check"),
    [
        (
            {"type": "bearer", "token": "s3cret-token"},
            lambda seen: seen.headers["Authorization"] == "Bearer s3cret-token",
        ),
        (
            {"type": "basic", "username": "ada", "password": "s3cret-pw"},
            lambda seen: (
                seen.headers["Authorization"] == "Basic " + base64.b64encode(b"ada:s3cret-pw").decode()
            ),
        ),
        (
            {"type": "header", "name": "X-Api-Key", "value": "s3cret-key"},
            lambda seen: seen.headers["X-Api-Key"] == "s3cret-key",
        ),
        (
            {"type": "query", "name": "key", "value": "s3cret-q"},
            lambda seen: seen.query == {"key": ["s3cret-q"]},
        ),
    ],
    ids=["bearer", "basic", "header", "query"],
)
async def test_requests_carry_the_connection_auth_and_secrets_stay_out_of_the_database(
    engine_worker: Engine,
    settings: Settings,
    http_server: ScriptedServer,
    credentials: dict[str, Any],
    check: Any,
) -> None:
    url = http_server.script("/private", Reply(200, {"ok": True}))
    workflow_id = await create_workflow(engine_worker.db, [])
    workspace_id = await engine_worker.db.fetchval(
        "SELECT workspace_id FROM workflows WHERE id = $1", workflow_id
    )
    connection_id = await create_connection(engine_worker.db, settings, workspace_id, credentials)
    handle = await engine_worker.start(call(url, connection_id), workflow_id=workflow_id)
    assert (await handle.result()).status == "SUCCESS"
    assert check(http_server.hits("/private")[0])
    secret = next(v for k, v in credentials.items() if k in {"token", "password", "value"})
    stored = await engine_worker.db.fetchval(
        "SELECT credentials::text FROM connections WHERE id = $1", connection_id
    )
    assert secret not in stored
    rows = await engine_worker.db.fetch("SELECT input::text, output::text FROM step_executions")
    assert all(secret not in (row["input"] or "") + (row["output"] or "") for row in rows)


async def test_a_connection_of_another_workspace_is_not_found(
    engine_worker: Engine, settings: Settings, http_server: ScriptedServer
) -> None:
    url = http_server.script("/private", Reply(200, {"ok": True}))
    other_workflow = await create_workflow(engine_worker.db, [])
    other_workspace = await engine_worker.db.fetchval(
        "SELECT workspace_id FROM workflows WHERE id = $1", other_workflow
    )
    foreign = await create_connection(
        engine_worker.db, settings, other_workspace, {"type": "bearer", "token": "t"}
    )
    handle = await engine_worker.start(call(url, foreign))  # a workflow of a new, different workspace
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert "does not exist in this workspace" in (await engine_worker.execution(handle))["error"]
    assert http_server.hits("/private") == []


async def test_a_disabled_connection_fails_the_step_without_calling(
    engine_worker: Engine, settings: Settings, http_server: ScriptedServer
) -> None:
    url = http_server.script("/private", Reply(200, {"ok": True}))
    workflow_id = await create_workflow(engine_worker.db, [])
    workspace_id = await engine_worker.db.fetchval(
        "SELECT workspace_id FROM workflows WHERE id = $1", workflow_id
    )
    connection_id = await create_connection(
        engine_worker.db, settings, workspace_id, {"type": "bearer", "token": "t"}, active=False
    )
    handle = await engine_worker.start(call(url, connection_id), workflow_id=workflow_id)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert "is disabled" in (await engine_worker.execution(handle))["error"]
    assert http_server.hits("/private") == []


async def test_logs_redact_a_connections_credentials_wherever_a_step_shows_them(
    engine_worker: Engine, settings: Settings, http_server: ScriptedServer
) -> None:
    secret = "plain-looking-key-1234"  # no common secret pattern would catch it
    url = http_server.script(
        "/echo", Reply(200, {"youSent": f"key={secret}", "value": secret, "host": "api.test"})
    )
    workflow_id = await create_workflow(engine_worker.db, [])
    workspace_id = await engine_worker.db.fetchval(
        "SELECT workspace_id FROM workflows WHERE id = $1", workflow_id
    )
    credentials = {"type": "header", "name": "X-Api-Key", "value": secret}
    connection_id = await create_connection(engine_worker.db, settings, workspace_id, credentials)
    handle = await engine_worker.start(call(url, connection_id), workflow_id=workflow_id)
    assert (await handle.result()).status == "SUCCESS"
    assert engine_worker.writers is not None
    await engine_worker.writers.logs.flush()
    logged = await engine_worker.db.fetchval(
        "SELECT metadata::text FROM execution_logs WHERE step_id IS NOT NULL AND execution_id = $1 "
        "AND metadata->>'status' = 'SUCCESS'",
        handle.id.removeprefix("run-"),
    )
    assert logged is not None
    assert secret not in logged
    body = json.loads(logged)["output"]["body"]
    assert body == {"youSent": f"key={REDACTED}", "value": REDACTED, "host": "api.test"}


def test_secrets_of_a_connection_skip_public_fields_and_short_values() -> None:
    secrets = Secrets.of(
        {"type": "basic", "username": "ada", "password": "hunter22", "pin": "1234", "Host": "db"}
    )
    assert "password" in secrets.names
    assert "username" not in secrets.names
    assert "host" not in secrets.names
    basic = base64.b64encode(b"ada:hunter22").decode()  # the Authorization: Basic form
    assert secrets.values == (basic, "hunter22")  # the auth type is public, "1234" too short to hunt
    redacted = redact({"note": "pw hunter22 for ada", "PIN": "1234", "username": "ada"}, secrets)
    assert redacted == {"note": f"pw {REDACTED} for ada", "PIN": REDACTED, "username": "ada"}


@pytest.mark.parametrize(
    "credentials",
    [
        {"type": "bearer", "token": "s3cret-token-4c7a"},
        {"type": "basic", "username": "ada", "password": "s3cret-pw-91"},
        {"type": "query", "name": "key", "value": "s3cret-q-5e"},
    ],
    ids=["bearer", "basic", "query"],
)
async def test_a_service_that_echoes_the_request_does_not_give_the_secret_back(
    engine_worker: Engine, settings: Settings, credentials: dict[str, Any]
) -> None:
    echo = EchoServer()
    try:
        workflow_id = await create_workflow(engine_worker.db, [])
        workspace_id = await engine_worker.db.fetchval(
            "SELECT workspace_id FROM workflows WHERE id = $1", workflow_id
        )
        connection_id = await create_connection(engine_worker.db, settings, workspace_id, credentials)
        steps = [
            *call(echo.base_url + "/anything", connection_id),
            {"id": "after", "type": "set", "values": {"seen": "{{ steps.call.output.body.headers }}"}},
        ]
        handle = await engine_worker.start(steps, workflow_id=workflow_id)
        result = await handle.result()
    finally:
        echo.close()
    assert result.status == "SUCCESS"
    sent = echo.requests[0]
    wire = Secrets.of(credentials).values  # the secret and, for basic, the header's base64 of it
    assert any(v in json.dumps({"h": sent.headers, "q": sent.query}) for v in wire)  # the service got it
    rows = await engine_worker.step_rows(handle)
    history = await history_payloads(engine_worker.client, handle.id)
    places = {
        "the step's row": str(rows["call"]["output"]) + str(rows["after"]["output"]),
        "the run's result": json.dumps(result.result, default=str),
        "Temporal's history (decoded)": b"".join(p.data for p in history).decode(errors="replace"),
    }
    for where, text in places.items():
        for value in wire:
            assert value not in text, f"{value!r} is in {where}"
    assert REDACTED in str(rows["call"]["output"])
