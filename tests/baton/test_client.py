"""baton.client against a real API (uvicorn on 127.0.0.1) and a real worker: a workflow made of step models,
published, called, followed live and decided; a bad definition refused on the client with the path the
server gives; pages iterated; errors as exceptions with their body; retries that keep their
Idempotency-Key; and the blocking client doing the same from a thread."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from baton.client import (
    ActionStep,
    ApprovalStep,
    AsyncClient,
    Client,
    ConditionStep,
    InvalidInput,
    NotFound,
    RespondStep,
    SetStep,
    TransportError,
    Unauthorized,
    Unavailable,
)
from core.settings import Settings
from tests.api.conftest import PASSWORD, served_api
from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer

SCOPES = ["workflows:read", "workflows:write", "executions:read", "executions:write", "workspaces:admin"]


async def _account(baton: AsyncClient) -> str:
    """A new user logged in; returns an API key made with the login token."""
    email = f"client-{uuid.uuid4().hex[:8]}@example.com"
    await baton.auth.register(email, PASSWORD, "Ada", "Lovelace")
    await baton.auth.login(email, PASSWORD)
    return (await baton.me.create_api_key("tests", SCOPES)).key


async def test_a_workflow_built_called_followed_and_decided_with_the_async_client(
    settings: Settings, task_queue: str, engine_worker: Engine
) -> None:
    async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
        url = str(api.base_url)
        async with AsyncClient(url) as anonymous:
            key = await _account(anonymous)
        async with AsyncClient(url, token=key) as baton:
            workspace = await baton.workspaces.create("Acme")
            workflow = await baton.workflows.create(
                workspace.id,
                "Greet",
                "WEBHOOK",
                [
                    SetStep(id="who", values={"name": "{{ trigger.body.name }}"}),
                    ConditionStep.model_validate(
                        {
                            "id": "vip",
                            "type": "condition",
                            "if": "{{ trigger.body.tier == 'gold' }}",
                            "then": [RespondStep(id="gold", body={"hello": "{{ vars.name }}", "vip": 1})],
                            "else": [RespondStep(id="plain", body={"hello": "{{ vars.name }}", "vip": 0})],
                        }
                    ),
                ],
                trigger_config={"mode": "sync"},
            )
            assert workflow.is_draft
            version = await baton.workflows.publish(workspace.id, workflow.id, "First version")
            assert version.version == 1
            hooks = (await baton.webhooks.list(workspace.id)).items
            token = next(h.token for h in hooks if h.workflow_id == workflow.id)
            assert token is not None
            answer = await baton.webhooks.call(token, {"name": "Ada", "tier": "gold"})
            assert answer.status == 200
            assert answer.body == {"hello": "Ada", "vip": 1}
            assert answer.execution_id
            run = await baton.wait_for(workspace.id, answer.execution_id)
            assert run.status == "SUCCESS"
            assert sorted(s.step_id for s in run.step_executions) == ["gold", "vip", "who"]
            timeline = await baton.executions.timeline(workspace.id, run.id)
            assert [i.key for i in timeline.items] == ["who", "vip", "gold"]

            # an approval, followed live and decided through the client
            waiting = await baton.workflows.create(
                workspace.id,
                "Refunds",
                "MANUAL",
                [ApprovalStep(id="ok", message="Refund 40 EUR?"), SetStep(id="done", values={"x": 1})],
            )
            await baton.workflows.publish(workspace.id, waiting.id)
            started = await baton.workflows.run(workspace.id, waiting.id, {"amount": 40})
            assert started.execution_id == started.id

            events: list[Any] = []

            async def follow() -> None:
                async for event in baton.executions.events(workspace.id, started.id):
                    events.append(event)

            following = asyncio.create_task(follow())
            pending = await _eventually(lambda: baton.approvals.list(workspace.id), lambda page: page.items)
            assert pending.items[0].message == "Refund 40 EUR?"
            await baton.executions.decide(workspace.id, started.id, "ok", approved=True, comment="fine")
            await asyncio.wait_for(following, 30)
            assert events[0].type == "execution"
            assert events[-1].data["status"] == "SUCCESS"
            assert any(e.type == "step" for e in events)
            assert engine_worker.logs is not None
            await engine_worker.logs.flush()  # the worker writes its log in batches
            entries = await baton.executions.logs(workspace.id, started.id)
            assert entries.items[0].message == "Execution started"
            assert "ok" in {entry.step_id for entry in entries.items}

            # the same Idempotency-Key on a manual run: one run, the first answered again
            first = await baton.workflows.run(workspace.id, waiting.id, {}, idempotency_key="order-42")
            again = await baton.workflows.run(workspace.id, waiting.id, {}, idempotency_key="order-42")
            assert again.id == first.id
            other = await baton.workflows.run(workspace.id, waiting.id, {}, idempotency_key="order-43")
            assert other.id != first.id

            # flow control: pause and unpause a run; count what a bulk retry would replay
            paused = await baton.executions.pause(workspace.id, other.id, reason="audit")
            assert paused.id == other.id
            assert (await baton.executions.unpause(workspace.id, other.id)).id == other.id
            counted = await baton.executions.replay_in_bulk(workspace.id, "retry", dry_run=True)
            assert (counted.status, counted.batch_id, counted.matched) == ("DRY_RUN", None, 0)

            # pages
            for n in range(3):
                more = [SetStep(id="a", values={})]
                await baton.workflows.create(workspace.id, f"More {n}", "MANUAL", more)
            names = [w.name async for w in baton.workflows.iterate(workspace.id, page_size=2)]
            assert len(names) == 5
            assert len(set(names)) == 5
            assert (await baton.workflows.list(workspace.id, limit=2)).next_cursor

            # errors: the body, as an exception
            with pytest.raises(NotFound) as missing:
                await baton.workflows.get(workspace.id, str(uuid.uuid4()))
            assert missing.value.status == 404
            assert missing.value.error == "not_found"
        async with AsyncClient(url, token="bat_not-a-key") as stranger:
            with pytest.raises(Unauthorized):
                await stranger.workspaces.list()


async def _eventually(read: Any, done: Any, timeout: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if done(value):
            return value
        assert asyncio.get_running_loop().time() < deadline, f"never true: {value}"
        await asyncio.sleep(0.2)


async def test_a_bad_step_fails_on_the_client_with_the_servers_path_and_message(settings: Settings) -> None:
    bad = [
        {"id": "fetch", "type": "action", "action": "http.request", "input": {"method": "GET"}},
        {"id": "use", "type": "set", "values": {"x": "{{ steps.nope.output }}"}},
    ]
    async with served_api(settings) as api:
        async with AsyncClient(str(api.base_url)) as baton:
            key = await _account(baton)
            workspace = await baton.workspaces.create("Acme")
            with pytest.raises(InvalidInput) as refused:
                await baton.workflows.create(workspace.id, "Bad", "MANUAL", bad)
        raw = await api.post(
            f"/api/v1/workspaces/{workspace.id}/workflows",
            headers={"Authorization": f"Bearer {key}"},
            json={"name": "Bad", "triggerType": "MANUAL", "steps": bad},
        )
    assert raw.status_code == 422
    assert refused.value.path == raw.json()["path"] == "steps[0].input.url"
    assert refused.value.detail == raw.json()["detail"]
    with pytest.raises(ValidationError):
        ActionStep(id="Bad Id", action="http.request")  # the model itself refuses it
    async with AsyncClient("http://127.0.0.1:9") as offline:  # nothing sent: refused before any call
        with pytest.raises(InvalidInput) as loop_refused:
            await offline.workflows.create(
                "ws", "x", "SCHEDULE", [SetStep(id="a", values={})], trigger_config={"cron": "every day"}
            )
    assert loop_refused.value.path == "triggerConfig.cron"


async def test_retries_on_503_and_429_keep_the_idempotency_key(http_server: ScriptedServer) -> None:
    http_server.script(
        "/hooks/abc",
        Reply(503, {"error": "unavailable", "detail": "Temporal is not answering", "path": None}),
        Reply(429, {"error": "rate_limited", "detail": "slow down", "path": None}, {"Retry-After": "0"}),
        Reply(202, {"executionId": "e-1", "status": "PENDING"}),
    )
    async with AsyncClient(http_server.base_url, backoff=0.01) as baton:
        answer = await baton.webhooks.call("abc", {"n": 1})
    assert answer.status == 202
    keys = {seen.headers.get("Idempotency-Key") for seen in http_server.hits("/hooks/abc")}
    assert len(http_server.hits("/hooks/abc")) == 3
    assert len(keys) == 1
    assert None not in keys
    http_server.script("/hooks/down", Reply(503, {"error": "unavailable", "detail": "down", "path": None}))
    async with AsyncClient(http_server.base_url, backoff=0.01, max_retries=2) as baton:
        with pytest.raises(Unavailable) as gave_up:
            await baton.webhooks.call("down", {})
    assert gave_up.value.body["detail"] == "down"
    assert len(http_server.hits("/hooks/down")) == 3


async def test_the_blocking_client_does_the_same_from_a_thread(
    settings: Settings, task_queue: str, engine_worker: Engine
) -> None:
    del engine_worker
    async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
        url = str(api.base_url)

        def script() -> tuple[str, list[str]]:  # plain blocking code, as in a user's script
            email = f"sync-{uuid.uuid4().hex[:8]}@example.com"
            with Client(url) as baton:
                baton.auth.register(email, PASSWORD, "Ada", "Lovelace")
                baton.auth.login(email, PASSWORD)
                workspace = baton.workspaces.create("Sync")
                steps = [SetStep(id="twice", values={"n": "{{ trigger.n * 2 }}"})]
                workflow = baton.workflows.create(workspace.id, "Double", "MANUAL", steps)
                baton.workflows.publish(workspace.id, workflow.id)
                run = baton.workflows.run(workspace.id, workflow.id, {"n": 21}, wait=True)
                kinds = [event.type for event in baton.executions.events(workspace.id, run.id)]
                return str(baton.executions.get(workspace.id, run.id).result), kinds

        result, kinds = await asyncio.to_thread(script)
    assert result == "{'n': 42}"
    assert kinds[0] == "execution"


def test_the_client_reports_an_unreachable_api_with_what_to_check() -> None:
    with Client("http://127.0.0.1:9", max_retries=0) as baton:
        with pytest.raises(TransportError) as failed:
            baton.workspaces.list()
    assert "cannot reach Baton at http://127.0.0.1:9" in str(failed.value)
    assert failed.value.status == 0
