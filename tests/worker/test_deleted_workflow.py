"""A workflow deleted while its runs are in flight: the runs end without rows to write, and nothing retries
for ever (a record activity failing its foreign key used to retry without end, holding up worker shutdown)."""

from __future__ import annotations

import asyncio

from tests.engine import Engine


async def test_a_run_whose_workflow_is_deleted_ends_and_writes_nothing(engine_worker: Engine) -> None:
    handle = await engine_worker.start(
        [
            {"id": "wait", "type": "delay", "seconds": 2},
            {"id": "after", "type": "set", "values": {"x": 1}},
        ]
    )
    while await engine_worker.execution(handle) is None:
        await asyncio.sleep(0.05)
    workflow_id = (await engine_worker.execution(handle))["workflow_id"]
    await engine_worker.db.execute("DELETE FROM workflows WHERE id = $1", workflow_id)
    result = await asyncio.wait_for(handle.result(), 20)
    assert result.status == "SUCCESS"
    assert await engine_worker.execution(handle) is None
    assert await engine_worker.step_rows(handle) == {}
