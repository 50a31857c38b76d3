"""Execution profiles end to end: an action of the `long` profile is scheduled on its profile's task queue,
waits while no worker serves that profile, runs once one does, and shows its progress in its step's live
state; progress is throttled; the SDK refuses an unknown profile."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from core.models import AuthType
from core.outbound import outbound_client, policy_for
from core.runs.live import run_live
from core.settings import Settings
from integrations.catalogue import INTEGRATIONS
from integrations.sdk import ActionContext, Integration
from tests.engine import Engine
from tests.integrations.conftest import eventually
from worker.main import build_workers, log_writers, serving, warm_up

PAGES = Integration(
    id="pagestest",
    name="Pages (test)",
    description="A long export, page by page, held by the test",
    icon="",
    category="test",
    auth_type=AuthType.NONE,
)
# Released by the test: the export holds after its first page until then.
GATES: dict[str, asyncio.Event] = {}


class ExportInput(BaseModel):
    pages: int
    gate: str


class ExportOutput(BaseModel):
    pages: int


@PAGES.action(
    "export", name="Export", description="Pages through an export", side_effects=False, profile="long"
)
async def export(data: ExportInput, ctx: ActionContext) -> ExportOutput:
    for page in range(1, data.pages + 1):
        await ctx.progress(page, data.pages, f"page {page} of {data.pages}")
        if page == 1:
            await GATES[data.gate].wait()
    return ExportOutput(pages=data.pages)


@pytest.fixture
def pages() -> Iterator[Integration]:
    INTEGRATIONS[PAGES.id] = PAGES
    try:
        yield PAGES
    finally:
        INTEGRATIONS.pop(PAGES.id, None)


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with outbound_client(policy_for(settings), follow_redirects=True) as client:
        yield client


async def scheduled_queue(handle: WorkflowHandle[Any, Any], activity_type: str) -> str | None:
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == activity_type:
                return str(attributes.task_queue.name)
    return None


async def started(handle: WorkflowHandle[Any, Any]) -> bool:
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            return True
    description = await handle.describe()
    return any(
        p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        for p in description.raw_description.pending_activities
    )


@pytest.mark.usefixtures("pages")
async def test_a_long_action_waits_for_a_worker_of_its_profile_and_shows_its_progress(
    temporal_client: Client,
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    task_queue: str,
    db: asyncpg.Connection,
    http: httpx.AsyncClient,
) -> None:
    await warm_up(engine, redis)
    writers = log_writers(settings, engine)
    gate = GATES.setdefault(task_queue, asyncio.Event())

    def workers(profile: str) -> list[Any]:
        return build_workers(
            temporal_client,
            settings,
            http,
            engine,
            redis,
            profiles=[profile],
            task_queue=task_queue,
            writers=writers,
        )

    (default,) = workers("default")
    async with default:
        runs = Engine(temporal_client, db, task_queue, writers=writers)
        steps = [
            {
                "id": "export",
                "type": "action",
                "action": "pagestest.export",
                "input": {"pages": 3, "gate": task_queue},
            }
        ]
        handle = await runs.start(steps)
        assert await eventually(lambda: scheduled_queue(handle, "pagestest.export")) == f"{task_queue}-long"
        # no worker serves `long` yet: the default worker never takes the activity
        assert not await started(handle)

        (long,) = workers("long")
        async with long:

            async def progress() -> dict[str, Any] | None:
                row = (await runs.step_rows(handle)).get("export")
                state = json.loads(row["state"]) if row is not None and row["state"] else None
                return state if state and state.get("progress") else None

            state = await eventually(progress)
            assert state == {
                "kind": "running",
                "progress": {"done": 1, "total": 3, "message": "page 1 of 3"},
            }
            live = run_live("RUNNING", [{"step_id": "export", "started_at": None, "state": state}])
            assert live is not None
            assert live["steps"][0]["progress"]["message"] == "page 1 of 3"
            gate.set()
            result = await handle.result()
    GATES.pop(task_queue, None)
    assert result.status == "SUCCESS", result.error
    row = (await runs.step_rows(handle))["export"]
    assert json.loads(row["output"]) == {"pages": 3}


async def test_a_worker_started_with_the_long_profile_alone_polls_only_the_long_queue(
    temporal_client: Client, settings: Settings, engine: AsyncEngine, redis: Redis, task_queue: str
) -> None:
    own = settings.model_copy(update={"temporal_task_queue": task_queue})
    async with serving(own, temporal_client, engine, redis, ["long"]) as workers:
        assert [worker.task_queue for worker in workers] == [f"{task_queue}-long"]
    async with serving(own, temporal_client, engine, redis) as workers:  # none named: all of them
        # one queue per profile that actions use: llm.* long, data.* cpu, code.run code
        assert [worker.task_queue for worker in workers] == [
            task_queue,
            f"{task_queue}-long",
            f"{task_queue}-cpu",
            f"{task_queue}-code",
        ]


async def test_progress_shows_at_most_twice_a_second_but_always_its_last_page() -> None:
    shown: list[dict[str, Any]] = []

    async def on_progress(figures: dict[str, Any]) -> None:
        shown.append(figures)

    context = ActionContext(
        credentials={}, http=httpx.AsyncClient(), logger=logging.getLogger("test"), on_progress=on_progress
    )
    for page in range(1, 11):
        await context.progress(page, 10)
    assert shown == [{"done": 1, "total": 10}, {"done": 10, "total": 10}]


def test_an_action_of_an_unknown_profile_is_refused_when_declared() -> None:
    integration = Integration(
        id="nope", name="Nope", description="", icon="", category="test", auth_type=AuthType.NONE
    )
    with pytest.raises(ValueError, match="unknown execution profile 'huge'"):

        @integration.action("x", name="X", description="", profile="huge")
        async def x(data: ExportInput, ctx: ActionContext) -> ExportOutput:
            del ctx
            return ExportOutput(pages=data.pages)
