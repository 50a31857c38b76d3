"""A worker asked to stop while a local activity keeps failing (its database refuses the write): Temporal's
core retries local activities even after a shutdown began, so the worker never stopped. It now leaves after
WORKER_SHUTDOWN_SECONDS, and the run it held completes on the next worker once the database takes writes."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from baton.embedded import free_port
from tests.chaos.conftest import Children

REFUSE_WRITES = """
CREATE FUNCTION refuse_runs() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
CREATE TRIGGER refuse_runs BEFORE INSERT OR UPDATE ON workflow_executions
  FOR EACH ROW EXECUTE FUNCTION refuse_runs();
"""


@pytest.mark.parametrize("command", [["worker"], ["serve"]], ids=["baton worker", "baton serve"])
async def test_a_worker_stuck_on_a_failing_local_activity_still_stops_and_loses_nothing(
    command: list[str],
    children: Children,
) -> None:
    db = children.db
    log = children.logs / "worker.log"
    if command == ["serve"]:  # the API and the worker in one process
        command = ["serve", "--port", str(free_port())]
    await db.execute(REFUSE_WRITES)
    worker = children.start(command, children.env(WORKER_SHUTDOWN_SECONDS="2", LOG_LEVEL="INFO"))
    handle = await children.engine.start([{"id": "s", "type": "set", "values": {}}])
    for _ in range(600):  # its first record (the RUNNING row) fails, and is retried
        if "refused by the test" in log.read_text(errors="replace"):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the record activity never ran:\n" + log.read_text(errors="replace")[-2000:])

    assert worker.process is not None
    began = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(worker.process.wait, 30)
    took = time.monotonic() - began
    assert code == 1
    assert took < 15, took
    assert "did not stop within 2 s (WORKER_SHUTDOWN_SECONDS)" in log.read_text(errors="replace")

    await db.execute("DROP TRIGGER refuse_runs ON workflow_executions")
    worker.start()
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.status == "SUCCESS"
    assert await db.fetchval("SELECT status FROM workflow_executions") == "SUCCESS"
