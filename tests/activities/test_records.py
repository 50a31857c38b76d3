"""Record activities are idempotent: Temporal may run any activity twice, the rows and counters stay right."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.records import RecordActivities
from core.contract import ActionRequest, ExecutionFinished, ExecutionStarted, StepRecord
from core.redis_keys import RedisKeys
from tests.factories import create_workflow


@pytest.fixture
def records(engine: AsyncEngine, redis: Redis, redis_keys: RedisKeys) -> RecordActivities:
    return RecordActivities(engine, redis, redis_keys)


@pytest.fixture
async def run(db: asyncpg.Connection) -> tuple[str, str]:
    """A workflow row and the id of an execution of it that no record names yet."""
    return await create_workflow(db, []), str(uuid.uuid4())


def step(key: str, status: str = "SUCCESS", output: object = None) -> StepRecord:
    return StepRecord(
        key=key,
        step_id=key.split("/")[0],
        step_type="set",
        status=status,
        output=output,
        started_at="2026-01-01T00:00:00+00:00",
        completed_at="2026-01-01T00:00:01.5+00:00",
    )


async def test_every_record_activity_can_run_twice_without_changing_the_outcome(
    records: RecordActivities, run: tuple[str, str], db: asyncpg.Connection
) -> None:
    workflow_id, execution_id = run
    started = ExecutionStarted(execution_id, workflow_id, {"a": 1}, "2026-01-01T00:00:00+00:00")
    finished = ExecutionFinished(
        execution_id,
        workflow_id,
        "SUCCESS",
        "2026-01-01T00:00:03+00:00",
        {"done": True},
        None,
        [step("b", output={"v": 2})],
    )
    action = ActionRequest(
        input={"url": "x"},
        execution_id=execution_id,
        step_id="c",
        step_key="c",
        record=True,
        records=[step("a/0", output=1)],
    )
    for _ in range(2):
        await records.execution_started(started)
        await records.record_steps(execution_id, [step("a/0", output=1), step("a/1", output=2)])
        await records.write_action_result(
            action, StepRecord("c", "c", "action", "SUCCESS", {"url": "x"}, {"ok": 1})
        )
        await records.execution_finished(finished)

    rows = await db.fetch(
        "SELECT step_id, output, duration FROM step_executions WHERE execution_id = $1 "
        "ORDER BY step_id, output::text",
        execution_id,
    )
    assert [(r["step_id"], json.loads(r["output"])) for r in rows] == [
        ("a", 1),
        ("a", 2),
        ("b", {"v": 2}),
        ("c", {"ok": 1}),
    ]
    assert rows[0]["duration"] == 1500
    execution = await db.fetchrow("SELECT * FROM workflow_executions WHERE id = $1", execution_id)
    assert (execution["status"], execution["duration"]) == ("SUCCESS", 3000)
    assert json.loads(execution["result"]) == {"done": True}
    counters = await db.fetchrow(
        "SELECT total_executions, successful_executions, failed_executions FROM workflows WHERE id = $1",
        workflow_id,
    )
    assert tuple(counters) == (1, 1, 0)


async def test_a_late_started_record_does_not_reopen_a_finished_execution(
    records: RecordActivities, run: tuple[str, str], db: asyncpg.Connection
) -> None:
    workflow_id, execution_id = run
    started = ExecutionStarted(execution_id, workflow_id, {}, "2026-01-01T00:00:00+00:00")
    await records.execution_started(started)
    await records.execution_finished(
        ExecutionFinished(execution_id, workflow_id, "FAILED", "2026-01-01T00:00:01+00:00", None, "boom")
    )
    await records.execution_started(started)  # a retried start that arrives after the end
    assert await db.fetchval("SELECT status FROM workflow_executions WHERE id = $1", execution_id) == "FAILED"


async def test_status_changes_are_published_on_the_execution_channel(
    records: RecordActivities, run: tuple[str, str], redis: Redis, redis_keys: RedisKeys
) -> None:
    workflow_id, execution_id = run
    subscriber = redis.pubsub()
    await subscriber.subscribe(redis_keys.execution_channel(execution_id))
    await subscriber.get_message(timeout=1)  # the subscribe confirmation
    await records.execution_started(
        ExecutionStarted(execution_id, workflow_id, {}, "2026-01-01T00:00:00+00:00")
    )
    await records.execution_finished(
        ExecutionFinished(
            execution_id, workflow_id, "SUCCESS", "2026-01-01T00:00:01+00:00", records=[step("s")]
        )
    )
    events = []
    for _ in range(3):
        message = await subscriber.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None
        events.append(json.loads(message["data"]))
    await subscriber.aclose()
    assert [e["type"] for e in events] == ["execution", "step", "execution"]
    assert [e["status"] for e in events] == ["RUNNING", "SUCCESS", "SUCCESS"]
