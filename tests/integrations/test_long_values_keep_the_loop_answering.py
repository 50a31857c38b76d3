"""A run that copies a long value (an anonymous caller's webhook body, say) is recorded, redacted and logged
while the process's event loop, which also serves the API and polls Temporal, keeps answering."""

from __future__ import annotations

import asyncio
import time

from core.redaction import REDACTED
from tests.integrations.conftest import Studio

TICK = 0.05
# Generous for a slow shared machine; redacting this value used to hold the GIL for tens of seconds.
LONGEST_STALL = 1.0


async def test_a_long_value_copied_by_a_set_step_does_not_stall_the_event_loop(studio: Studio) -> None:
    workflow = await studio.publish(
        [{"id": "copy", "type": "set", "values": {"text": "{{ trigger.text }}", "url": "{{ trigger.url }}"}}]
    )
    stalls: list[float] = []

    async def watch() -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(TICK)
            stalls.append(time.perf_counter() - began - TICK)

    watcher = asyncio.create_task(watch())
    try:
        text = "a" * 60_000 + "a://a:" * 2_000
        execution = await studio.run(workflow, {"text": text, "url": "postgres://ada:hunter22@db/x"})
    finally:
        watcher.cancel()
    assert execution["status"] == "SUCCESS", execution
    assert execution["steps"]["copy"]["output"]["text"] == text
    assert max(stalls) < LONGEST_STALL, f"the event loop stalled for {max(stalls):.1f}s"

    await studio.engine.logs.flush()  # type: ignore[union-attr]
    logs = await studio.client.get(
        f"{studio.base}/executions/{execution['id']}/logs", headers=studio.headers, params={"limit": 100}
    )
    logged = [e for e in logs.json()["items"] if e["stepId"] == "copy"]
    assert logged, logs.text
    assert logged[-1]["metadata"]["output"]["url"] == f"postgres://ada:{REDACTED}@db/x"
    assert logged[-1]["metadata"]["output"]["text"] == text
