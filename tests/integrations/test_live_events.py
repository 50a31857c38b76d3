"""Live updates over Server-Sent Events: a run's stream resumed with Last-Event-ID replays what it missed
from the log store and goes on live without repeating anything; the workspace stream carries every run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import served_api
from tests.integrations.conftest import Studio, eventually


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a real socket: event streams are read as they come."""
    async with served_api(settings) as client:
        yield client


APPROVAL_FLOW: list[dict[str, Any]] = [  # the delay lets the test subscribe before the first step's event
    {"id": "nap", "type": "delay", "seconds": 1},
    {"id": "first", "type": "set", "values": {"n": 1}},
    {"id": "ask", "type": "approval", "message": "Go on?", "timeoutSeconds": 600},
    {"id": "last", "type": "set", "values": {"n": 2}},
]


async def start(studio: Studio, workflow_id: str) -> str:
    started = await studio.client.post(
        f"{studio.base}/workflows/{workflow_id}/run", headers=studio.headers, json={"payload": {}}
    )
    assert started.status_code in (200, 202), started.text
    return str(started.json()["id"])


async def read_events(response: httpx.Response, stop: Any = None) -> list[dict[str, Any]]:
    """The events of a stream (their `id:` lines checked against their data), until it ends or `stop`."""
    events: list[dict[str, Any]] = []
    await asyncio.wait_for(_read(response, stop, events), 30)
    return events


async def _read(response: httpx.Response, stop: Any, events: list[dict[str, Any]]) -> None:
    event_id = None
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            event = json.loads(line[6:])
            assert event.get("id") == event_id
            events.append(event)
            event_id = None
            if stop is not None and stop(event):
                break


async def test_a_stream_resumed_with_last_event_id_replays_what_it_missed_then_goes_on_live(
    studio: Studio, live: httpx.AsyncClient
) -> None:
    workflow_id = await studio.publish(APPROVAL_FLOW)
    execution_id = await start(studio, workflow_id)
    url = f"{studio.base}/executions/{execution_id}/events"

    async with live.stream("GET", url, headers=studio.headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        before = await read_events(response, stop=lambda e: e.get("stepId") == "first")
    assert before[0]["type"] == "execution"  # the current status comes first, without an id
    resume_from = before[-1]
    assert resume_from["stepId"] == "first"
    assert resume_from["status"] == "SUCCESS"
    assert resume_from["executionId"] == execution_id

    # While nobody listens, the run goes on: the approval is given and the run ends.
    assert await approve(studio, execution_id)

    async def finished() -> bool:
        return bool((await studio.execution(execution_id))["status"] == "SUCCESS")

    assert await eventually(finished)
    assert studio.engine.writers is not None
    await studio.engine.writers.flush()

    headers = {**studio.headers, "Last-Event-ID": resume_from["id"]}
    async with live.stream("GET", url, headers=headers) as response:
        missed = await read_events(response)
    assert [(e["type"], e["stepId"], e["status"]) for e in missed] == [
        ("step", "ask", "RUNNING"),  # it began to wait (its state says what for)
        ("step", "ask", "SUCCESS"),
        ("step", "last", "SUCCESS"),
        ("execution", None, "SUCCESS"),
    ]
    assert missed[0]["state"]["for"] == "approval"
    assert missed[0]["message"].startswith("Step 'ask': waiting for approval")
    assert all(e["id"] and e["executionId"] == execution_id for e in missed)
    assert resume_from["id"] not in {e["id"] for e in missed}

    # The same with the query parameter (for clients that cannot set headers), from a later event.
    async with live.stream(
        "GET", url, headers=studio.headers, params={"lastEventId": missed[0]["id"]}
    ) as response:
        assert [e["id"] for e in await read_events(response)] == [e["id"] for e in missed[1:]]

    bad = await studio.client.get(url, headers={**studio.headers, "Last-Event-ID": "not-an-id"})
    assert bad.status_code == 400
    assert bad.json()["path"] == "Last-Event-ID"


async def approve(studio: Studio, execution_id: str) -> bool:
    """Approves the `ask` step once the run waits on it (the decision is refused until then)."""

    async def decided() -> bool:
        answer = await studio.client.post(
            f"{studio.base}/executions/{execution_id}/steps/ask/decision",
            headers=studio.headers,
            json={"approved": True},
        )
        return answer.status_code == 200

    return bool(await eventually(decided))


async def test_a_reconnect_while_the_run_waits_goes_on_live_to_the_end(
    studio: Studio, live: httpx.AsyncClient
) -> None:
    workflow_id = await studio.publish(APPROVAL_FLOW)
    execution_id = await start(studio, workflow_id)
    url = f"{studio.base}/executions/{execution_id}/events"
    async with live.stream("GET", url, headers=studio.headers) as response:
        seen = await read_events(response, stop=lambda e: e.get("stepId") == "first")
    headers = {**studio.headers, "Last-Event-ID": seen[-1]["id"]}
    async with live.stream("GET", url, headers=headers) as response:
        approving = asyncio.create_task(approve(studio, execution_id))
        rest = await read_events(response)
        assert await approving
    assert [(e["stepId"], e["status"]) for e in rest] == [
        ("ask", "SUCCESS"),
        ("last", "SUCCESS"),
        (None, "SUCCESS"),
    ]
    assert not {e["id"] for e in rest} & {e.get("id") for e in seen}


async def test_the_workspace_stream_carries_every_run_of_the_workspace(
    studio: Studio, live: httpx.AsyncClient
) -> None:
    workflow_id = await studio.publish([{"id": "only", "type": "set", "values": {"ok": True}}])
    finals: dict[str, dict[str, Any]] = {}
    async with live.stream("GET", f"{studio.base}/events", headers=studio.headers) as response:
        assert response.status_code == 200
        runs = [await start(studio, workflow_id) for _ in range(3)]

        async def collect() -> None:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    assert event["workflowId"] == workflow_id
                    if event["type"] == "execution" and event["status"] == "SUCCESS":
                        finals[event["executionId"]] = event
                    if len(finals) == len(runs):
                        return

        await asyncio.wait_for(collect(), 30)
    assert set(finals) == set(runs)
    stranger = await studio.client.get(f"{studio.base.rsplit('/', 1)[0]}/nope/events", headers=studio.headers)
    assert stranger.status_code in (403, 404)
