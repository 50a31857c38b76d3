"""A step whose worker is killed in the middle of its call counts that attempt: after the crash, Temporal
runs the local activity again from attempt 1, but the step's row counts every attempt as it begins
(core.runs.rows.ATTEMPT_STARTED), so `retryCount` says 1, and its span covers both attempts."""

from __future__ import annotations

import asyncio
import time

from tests.chaos.conftest import Children
from tests.http_server import LocalServer, Reply, Seen

HANG_SECONDS = 8.0


class HangsOnce(LocalServer):
    """The first call hangs (the worker is killed meanwhile); the next ones answer at once."""

    def answer(self, seen: Seen) -> Reply:  # noqa: ARG002
        if len(self.requests) == 1:
            time.sleep(HANG_SECONDS)
        return Reply(200, {"ok": True})


async def test_an_attempt_cut_by_a_worker_crash_counts_as_a_retry(
    children: Children,
) -> None:
    server = HangsOnce()
    try:
        worker = children.start(["worker"])
        engine = children.engine
        step = {"id": "call", "type": "action", "action": "http.request", "input": {"url": server.base_url}}
        handle = await engine.start([step])
        for _ in range(300):  # until the first attempt is under way
            if server.requests:
                break
            await asyncio.sleep(0.05)
        assert server.requests, (children.logs / "worker.log").read_text()[-2000:]
        for _ in range(100):  # a first attempt's row is written once it has run for a moment
            running = await engine.step_rows(handle)
            if "call" in running:
                break
            await asyncio.sleep(0.05)
        assert (running["call"]["status"], running["call"]["retry_count"]) == ("RUNNING", 0)
        worker.kill()
        worker.start()
        result = await asyncio.wait_for(handle.result(), 90)
        assert result.status == "SUCCESS"
        row = (await engine.step_rows(handle))["call"]
        assert row["status"] == "SUCCESS"
        assert row["retry_count"] == 1  # the attempt the crash cut, and the one that succeeded
        assert row["state"] is None
        assert len(server.requests) == 2
        execution = await engine.execution(handle)
        assert execution["duration"] >= row["duration"]
    finally:
        worker.stop()
        server.close()
