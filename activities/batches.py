"""The activity of bulk retries and resumes (core.runs.batches): replays a slice of a batch's runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from core.contract import REPLAY_CHUNK_ACTIVITY, ReplayChunk, ReplayOutcome, ReplayOutcomes
from core.errors import BatonError
from core.runs import RunService
from core.runs.batches import replay_execution_id

logger = logging.getLogger("baton.batches")


class BatchActivities:
    def __init__(self, runs: RunService) -> None:
        self._runs = runs

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        return [self.replay_chunk]

    @activity.defn(name=REPLAY_CHUNK_ACTIVITY)
    async def replay_chunk(self, chunk: ReplayChunk) -> ReplayOutcomes:
        """Retries or resumes each run of the slice under its batch-derived id; a run that cannot be (its
        retries used up, gone, the quota spent) is skipped with the reason, and the batch goes on."""
        outcomes = []
        for execution_id in chunk.execution_ids:
            new_id = replay_execution_id(chunk.batch_id, execution_id)
            try:
                if chunk.action == "resume":
                    await self._runs.resume(
                        execution_id, latest_version=chunk.latest_version, new_execution_id=new_id
                    )
                else:
                    await self._runs.retry(execution_id, new_execution_id=new_id)
            except BatonError as exc:
                outcomes.append(ReplayOutcome(execution_id, skipped=exc.detail))
                continue
            outcomes.append(ReplayOutcome(execution_id, started=new_id))
            activity.heartbeat(len(outcomes))
        return ReplayOutcomes(outcomes)
