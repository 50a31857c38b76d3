"""Concurrency limits (`concurrency: {limit, key?}` on a workflow): at most `limit` runs per key are past
their start at once; the others wait, durably and in arrival order, and start as slots free up.

The queue is the table `concurrency_slots`: one row per run that holds a slot or waits for one, ordered by
`seq` (arrival). The first `slot_limit` rows of a (workflow, key) hold its slots, so a run holds one as
soon as fewer than `limit` rows are ahead of it, and never loses it: only rows ahead of it can go. Takes
and releases of one key are serialized by a transaction-scoped advisory lock on it, so two runs never both
count themselves in.

A run's part (BatonRun._take_slot): it takes its place (`take`, idempotent: a retried activity keeps the
place it had), and if no slot is free it waits for the SLOT_SIGNAL, asking again every so often in case a
wake-up was lost (a worker that died between a release and its signal). Its end releases its row
(`release`, in the activity that records the end) and wakes the run that now holds the freed slot. The
first waiting run, when it asks, also frees the slots of holders that are over without having released
them (a run terminated in Temporal never runs its end; a row whose run was deleted counts as over). A deleted
workflow's rows go with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from core.contract import SLOT_SIGNAL, run_workflow_id
from core.models.enums import OPEN_STATUSES

logger = logging.getLogger("baton.concurrency")

MAX_KEY_LENGTH = 500
# A holder younger than this is not checked for having ended silently (it has just begun).
SETTLED_SECONDS = 10


@dataclass(frozen=True)
class Place:
    """Where a run stands: `holds` a slot, or waits with `ahead` runs waiting before it (`place` 1 = next)."""

    key: str
    limit: int
    holds: bool
    place: int = 0


def _lock(workflow_id: str, key: str) -> str:
    return f"concurrency:{workflow_id}:{key}"


TAKE = text(
    """
    WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0)))
    INSERT INTO concurrency_slots (execution_id, workflow_id, slot_key, slot_limit)
    SELECT :execution_id, :workflow_id, :key, :limit FROM locked
    ON CONFLICT (execution_id) DO NOTHING
    """
)
# The run that holds the slot a release freed: the `limit`-th row of the key, once the released one is gone
NEXT_HOLDER = text(
    """
    SELECT execution_id FROM concurrency_slots
    WHERE workflow_id = :workflow_id AND slot_key = :key
    ORDER BY seq OFFSET :offset LIMIT :count
    """
)


class ConcurrencySlots:
    def __init__(self, engine: AsyncEngine, client: Client | None = None) -> None:
        self._engine = engine
        self._client = client

    async def take(
        self, execution_id: str, workflow_id: str, key: str, limit: int, *, retake: bool = False
    ) -> Place:
        """Puts the run in its key's queue (once: a second call keeps its place) and says where it stands
        (freeing the slots of holders that ended without releasing them first)."""
        key = key[:MAX_KEY_LENGTH]
        async with self._engine.begin() as connection:
            await connection.execute(
                TAKE,
                {
                    "lock": _lock(workflow_id, key),
                    "execution_id": execution_id,
                    "workflow_id": workflow_id,
                    "key": key,
                    "limit": limit,
                },
            )
            place = (await places(connection, [execution_id]))[execution_id]
        # the head of the line looks for holders gone silent (one run asks, not every waiting one)
        if not (place.holds or retake) and place.place == 1:
            if await self._free_dead_holders(workflow_id, key, limit):
                return await self.take(execution_id, workflow_id, key, limit, retake=True)
        return place

    async def release(self, execution_ids: Iterable[str]) -> None:
        """Removes the runs' rows (holders or waiting) and wakes the runs that hold the freed slots."""
        async with self._engine.begin() as connection:
            woken = await self._release(connection, list(execution_ids))
        await self.wake(woken)

    async def _release(self, connection: AsyncConnection, execution_ids: list[str]) -> list[str]:
        if not execution_ids:
            return []
        rows = (
            await connection.execute(
                text(
                    "SELECT DISTINCT workflow_id, slot_key FROM concurrency_slots "
                    "WHERE execution_id = ANY(:ids)"
                ),
                {"ids": execution_ids},
            )
        ).all()
        woken: list[str] = []
        for workflow_id, key in sorted(rows):  # locks in one order: two releases never deadlock
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
                {"lock": _lock(workflow_id, key)},
            )
            released = (
                await connection.execute(
                    text(
                        "DELETE FROM concurrency_slots WHERE workflow_id = :workflow_id AND slot_key = :key "
                        "AND execution_id = ANY(:ids) RETURNING seq, slot_limit"
                    ),
                    {"workflow_id": workflow_id, "key": key, "ids": execution_ids},
                )
            ).all()
            if not released:
                continue
            limit = max(row.slot_limit for row in released)
            # the freed slots are the key's rows from `limit - freed` on (the limit of its latest arrival)
            woken += [
                row.execution_id
                for row in await connection.execute(
                    NEXT_HOLDER,
                    {
                        "workflow_id": workflow_id,
                        "key": key,
                        "offset": max(limit - len(released), 0),
                        "count": len(released),
                    },
                )
            ]
        return woken

    async def wake(self, execution_ids: Iterable[str]) -> None:
        """Signals each run that it may hold its slot now (it asks again to be sure; a run gone is
        skipped)."""
        if self._client is None:
            return
        for execution_id in execution_ids:
            try:
                await self._client.get_workflow_handle(run_workflow_id(execution_id)).signal(SLOT_SIGNAL)
            except RPCError as exc:  # ended, or Temporal away: it asks again on its own
                logger.info("could not wake run %s for its slot: %s", execution_id, exc.message)

    async def _free_dead_holders(self, workflow_id: str, key: str, limit: int) -> bool:
        """Releases the slots of holders that are over without having said so: their row ended, or their
        Temporal workflow did (terminated, timed out) while the row stayed open. Asked by the first
        waiting run when it asks for its slot; True when a slot was freed."""
        async with self._engine.connect() as connection:
            holders = (
                await connection.execute(
                    text(
                        "SELECT s.execution_id, e.status::text AS status FROM concurrency_slots s "
                        "LEFT JOIN workflow_executions e ON e.id = s.execution_id "
                        "WHERE s.workflow_id = :workflow_id AND s.slot_key = :key "
                        "AND s.enqueued_at < now() - make_interval(secs => :settled) "
                        "ORDER BY s.seq LIMIT :limit"
                    ),
                    {"workflow_id": workflow_id, "key": key, "limit": limit, "settled": SETTLED_SECONDS},
                )
            ).all()
        dead = [row.execution_id for row in holders if row.status not in OPEN_STATUSES]
        if self._client is not None:
            for row in holders:
                if row.status in OPEN_STATUSES and not await self._still_running(row.execution_id):
                    dead.append(row.execution_id)
        if dead:
            logger.warning("released the concurrency slots of runs that ended without a word: %s", dead)
            await self.release(dead)
        return bool(dead)

    async def _still_running(self, execution_id: str) -> bool:
        assert self._client is not None
        try:
            described = await self._client.get_workflow_handle(run_workflow_id(execution_id)).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            return True  # Temporal unavailable: assume it runs (never free a slot on a guess)
        return described.status == WorkflowExecutionStatus.RUNNING


async def places(connection: AsyncConnection, execution_ids: list[str]) -> dict[str, Place]:
    """Where each of these runs stands in its queue (runs in none are left out), in one query."""
    if not execution_ids:
        return {}
    rows = await connection.execute(
        text(
            """
            SELECT s.execution_id, s.slot_key, s.slot_limit,
                   (SELECT count(*) FROM concurrency_slots o
                    WHERE o.workflow_id = s.workflow_id AND o.slot_key = s.slot_key
                      AND o.seq < s.seq) AS ahead
            FROM concurrency_slots s WHERE s.execution_id = ANY(:ids)
            """
        ),
        {"ids": execution_ids},
    )
    found: dict[str, Place] = {}
    for row in rows:
        holds = row.ahead < row.slot_limit
        found[row.execution_id] = Place(
            row.slot_key, row.slot_limit, holds, 0 if holds else int(row.ahead) - row.slot_limit + 1
        )
    return found
