"""The `store` actions on the real stack (worker, Temporal, PostgreSQL): counters shared by concurrent runs,
"only new items" across runs, values kept between runs, and a run that only reaches its own workspace."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from core.models import ExecutionStatus
from integrations.catalogue import action_input_schema
from integrations.context import ActionContext, ActionError
from integrations.store import GetInput, IncrInput, get_value, increment, store
from tests.engine import Engine
from tests.factories import create_workflow, create_workspace

INCR = [{"id": "count", "type": "action", "action": "store.incr", "input": {"key": "runs"}}]
ONLY_NEW = [
    {
        "id": "fresh",
        "type": "action",
        "action": "store.only_new",
        "input": {"items": "{{ trigger.items }}", "keyPath": "id"},
    }
]


async def _value(engine: Engine, workspace_id: str, key: str) -> Any:
    raw = await engine.db.fetchval(
        "SELECT value FROM data_store_entries WHERE workspace_id = $1 AND namespace = '' AND key = $2",
        workspace_id,
        key,
    )
    return json.loads(raw) if raw is not None else None


async def _workspace(engine: Engine, workflow_id: str) -> str:
    return str(await engine.db.fetchval("SELECT workspace_id FROM workflows WHERE id = $1", workflow_id))


async def test_fifty_concurrent_runs_incrementing_one_key_count_fifty(engine_worker: Engine) -> None:
    workflow_id = await create_workflow(engine_worker.db, INCR)
    # started one after the other (one test connection), running all at once
    handles = [await engine_worker.start(INCR, workflow_id=workflow_id) for _ in range(50)]
    results = await asyncio.gather(*(handle.result() for handle in handles))
    assert {result.status for result in results} == {ExecutionStatus.SUCCESS.value}
    assert await _value(engine_worker, await _workspace(engine_worker, workflow_id), "runs") == 50


async def test_a_second_run_gets_only_the_items_it_has_not_seen(engine_worker: Engine) -> None:
    workflow_id = await create_workflow(engine_worker.db, ONLY_NEW)
    first = await engine_worker.start(
        ONLY_NEW, {"items": [{"id": 1, "t": "a"}, {"id": 2, "t": "b"}]}, workflow_id=workflow_id
    )
    assert (await first.result()).status == ExecutionStatus.SUCCESS.value
    second = await engine_worker.start(
        ONLY_NEW, {"items": [{"id": 2, "t": "b"}, {"id": 3, "t": "c"}]}, workflow_id=workflow_id
    )
    assert (await second.result()).status == ExecutionStatus.SUCCESS.value
    rows = await engine_worker.step_rows(second)
    assert json.loads(rows["fresh"]["output"]) == {
        "items": [{"id": 3, "t": "c"}],
        "newCount": 1,
        "seenCount": 1,
    }
    # another workflow keeps its own memory
    other = await engine_worker.start(ONLY_NEW, {"items": [{"id": 2}]})
    await other.result()
    assert json.loads((await engine_worker.step_rows(other))["fresh"]["output"])["newCount"] == 1


async def test_a_value_set_by_one_run_is_read_by_the_next_in_the_same_workspace_only(
    engine_worker: Engine,
) -> None:
    writer = [
        {"id": "put", "type": "action", "action": "store.set", "input": {"key": "k", "value": {"n": 7}}}
    ]
    reader = [{"id": "read", "type": "action", "action": "store.get", "input": {"key": "k", "default": 0}}]
    workflow_id = await create_workflow(engine_worker.db, writer)
    assert (await engine_worker.run(writer, workflow_id=workflow_id)).status == ExecutionStatus.SUCCESS.value
    workspace_id = await _workspace(engine_worker, workflow_id)
    same = await create_workflow(engine_worker.db, reader, workspace_id=workspace_id)
    handle = await engine_worker.start(reader, workflow_id=same)
    await handle.result()
    assert json.loads((await engine_worker.step_rows(handle))["read"]["output"])["value"] == {"n": 7}
    elsewhere = await engine_worker.start(reader)  # a workflow of another workspace
    await elsewhere.result()
    assert json.loads((await engine_worker.step_rows(elsewhere))["read"]["output"]) == {
        "found": False,
        "value": 0,
        "expiresAt": None,
    }


def _context(engine: AsyncEngine, workspace_id: str | None, key: str | None) -> ActionContext:
    context = store.context({}, httpx.AsyncClient(), logging.getLogger("test"), idempotency_key=key)
    context.workspace_id, context.database = workspace_id, engine
    return context


async def test_an_increment_retried_after_a_lost_answer_counts_once(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace_id = await create_workspace(db)
    first = _context(engine, workspace_id, "step-1")
    assert (await increment(IncrInput(key="n", by=3), first)).value == 3
    assert (await increment(IncrInput(key="n", by=3), first)).value == 3  # the same step's retry
    assert (await increment(IncrInput(key="n", by=3), _context(engine, workspace_id, "step-2"))).value == 6


async def test_a_store_action_outside_a_run_fails_without_retrying(engine: AsyncEngine) -> None:
    with pytest.raises(ActionError, match="run's step") as failure:
        await get_value(GetInput(key="k"), _context(engine, None, None))
    assert not failure.value.retryable


def test_a_definition_with_a_store_step_missing_its_key_is_refused_naming_the_field() -> None:
    steps = [{"id": "count", "type": "action", "action": "store.incr", "input": {"by": 2, "ttl": 5}}]
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(
            {"triggerType": "MANUAL", "steps": steps},
            action_schema=lambda action: action_input_schema(action),
        )
    assert "key" in str(refused.value.issues)
