"""When the log store is down, entries wait in the bounded buffer and reach the store once it is back;
what the bound cannot hold is dropped and counted, never blocking or failing a step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.logstore import BufferedWriter, LogStore, PostgresLogStore


def entry(n: int) -> dict[str, Any]:
    return {
        "executionId": "exec-buffer",
        "workflowId": None,
        "timestamp": datetime.now(UTC),
        "level": "info",
        "message": f"entry {n}",
        "stepId": None,
        "metadata": {"n": n},
    }


async def test_entries_wait_while_the_store_is_down_and_arrive_when_it_is_back(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    down = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none", connect_args={"timeout": 2})
    stores: list[LogStore] = [PostgresLogStore(down)]

    async def write(documents: list[dict[str, Any]]) -> None:
        await stores[0].write_logs(documents)

    writer = BufferedWriter("execution_logs", write, batch=2, bound=5)
    for n in range(4):
        writer.add(entry(n))
    assert await writer.flush() is False  # the store is unreachable: nothing lost yet
    assert (writer.pending, writer.dropped) == (4, 0)
    for n in range(4, 7):
        writer.add(entry(n))  # past the bound: the oldest make way, and are counted
    assert (writer.pending, writer.dropped) == (5, 2)

    stores[0] = PostgresLogStore(engine)  # the store is back
    assert await writer.flush() is True
    rows = await db.fetch(
        "SELECT message FROM execution_logs WHERE execution_id = 'exec-buffer' ORDER BY metadata->>'n'"
    )
    assert [r["message"] for r in rows] == [f"entry {n}" for n in range(2, 7)]
    assert (writer.pending, writer.written) == (0, 5)
    await down.dispose()
