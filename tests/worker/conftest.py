"""Engine fixtures: a real worker (interpreter + activities) on a fresh task queue, and a way to run
definitions through it and look at what was recorded."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle

from core.execution import INTERPRETER_WORKFLOW, RunInput, RunResult, run_workflow_id
from core.settings import Settings
from tests.factories import create_workflow
from worker.main import build_worker, warm_up


@dataclass
class Engine:
    client: Client
    db: asyncpg.Connection
    task_queue: str
    defaults: dict[str, Any] = field(default_factory=dict)

    async def start(
        self, steps: list[dict[str, Any]], trigger: Any = None, *, workflow_id: str | None = None, **options: Any
    ) -> WorkflowHandle[Any, RunResult]:
        workflow_id = workflow_id or await create_workflow(self.db, steps)
        workspace_id = await self.db.fetchval("SELECT workspace_id FROM workflows WHERE id = $1", workflow_id)
        execution_id = str(uuid.uuid4())
        run = RunInput(
            execution_id=execution_id, workflow_id=workflow_id, workspace_id=workspace_id, version=1,
            definition={"triggerType": "MANUAL", "triggerConfig": {}, "steps": steps},
            trigger_data=trigger if trigger is not None else {}, **{**self.defaults, **options},
        )
        return await self.client.start_workflow(
            INTERPRETER_WORKFLOW, run, id=run_workflow_id(execution_id), task_queue=self.task_queue,
            result_type=RunResult,
        )

    async def run(self, steps: list[dict[str, Any]], trigger: Any = None, **options: Any) -> RunResult:
        handle = await self.start(steps, trigger, **options)
        return await handle.result()

    async def execution(self, handle: WorkflowHandle[Any, Any]) -> asyncpg.Record:
        return await self.db.fetchrow(
            "SELECT * FROM workflow_executions WHERE id = $1", handle.id.removeprefix("run-")
        )

    async def step_rows(self, handle: WorkflowHandle[Any, Any]) -> dict[str, asyncpg.Record]:
        rows = await self.db.fetch(
            "SELECT * FROM step_executions WHERE execution_id = $1 ORDER BY started_at, step_id",
            handle.id.removeprefix("run-"),
        )
        return {row["step_id"]: row for row in rows}


def output(row: asyncpg.Record) -> Any:
    return json.loads(row["output"]) if row["output"] is not None else None


@pytest.fixture
async def engine_worker(
    temporal_client: Client, settings: Settings, engine: AsyncEngine, redis: Redis, task_queue: str,
    db: asyncpg.Connection,
) -> AsyncIterator[Engine]:
    await warm_up(engine, redis)
    async with httpx.AsyncClient() as http:
        worker = build_worker(temporal_client, settings, http, engine, redis, task_queue=task_queue)
        async with worker:
            yield Engine(temporal_client, db, task_queue)
