"""A real worker (interpreter + activities) on a fresh task queue, and a way to run definitions through it
and look at what was recorded (the `engine_worker` fixture of tests/conftest.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle

from core.contract import CURRENT_ENGINE, INTERPRETER_WORKFLOW, RunInput, RunResult, run_workflow_id
from core.logstore import BufferedWriter, LogWriters
from tests.factories import create_workflow


@dataclass
class Engine:
    client: Client
    db: asyncpg.Connection
    task_queue: str
    defaults: dict[str, Any] = field(default_factory=dict)
    # The worker's log store writers (tests flush them to read what was recorded).
    writers: LogWriters | None = None

    @property
    def usage(self) -> BufferedWriter | None:
        return self.writers.usage if self.writers else None

    @property
    def logs(self) -> BufferedWriter | None:
        return self.writers.logs if self.writers else None

    async def start(
        self,
        steps: list[Any],
        trigger: Any = None,
        *,
        workflow_id: str | None = None,
        concurrency: dict[str, Any] | None = None,
        strict_expressions: bool = False,
        workflow_type: str = INTERPRETER_WORKFLOW,
        **options: Any,
    ) -> WorkflowHandle[Any, RunResult]:
        workflow_id = workflow_id or await create_workflow(self.db, steps)
        workspace_id = await self.db.fetchval("SELECT workspace_id FROM workflows WHERE id = $1", workflow_id)
        execution_id = str(uuid.uuid4())
        run = RunInput(
            execution_id=execution_id,
            workflow_id=workflow_id,
            workspace_id=workspace_id,
            version=1,
            definition={
                "triggerType": "MANUAL",
                "triggerConfig": {},
                "steps": steps,
                **({"concurrency": concurrency} if concurrency else {}),
                **({"strictExpressions": True} if strict_expressions else {}),
            },
            trigger_data=trigger if trigger is not None else {},
            **{"engine": CURRENT_ENGINE, **self.defaults, **options},
        )
        return await self.client.start_workflow(
            workflow_type,  # a workflow's name (core.contract.run_workflow_type) or BatonRun
            run,
            id=run_workflow_id(execution_id),
            task_queue=self.task_queue,
            result_type=RunResult,
        )

    async def run(self, steps: list[Any], trigger: Any = None, **options: Any) -> RunResult:
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


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Temporal Payload inside a protobuf message (a history event), at any depth."""
    if isinstance(message, Payload):
        yield message
        return
    for descriptor, value in message.ListFields():
        if descriptor.type != descriptor.TYPE_MESSAGE or descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif descriptor.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Message):
                yield from payloads_in(item)


async def history_payloads(client: Client, workflow_id: str, *, decoded: bool = True) -> list[Payload]:
    """The payloads of a run's history as Temporal keeps them, or as the client's codec opens them."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    found = [p for event in history.events for p in payloads_in(event)]
    codec = client.data_converter.payload_codec
    return await codec.decode(found) if decoded and codec else found
