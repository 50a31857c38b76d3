"""The API's background work stops when it is told to. redis-py loses a cancellation that comes in the
middle of a command (the call returns, or raises a ConnectionError), and the webhook-stats flusher then went
on flushing, so the app's shutdown waited for it for ever: it held the teardown of test_role_matrix on CI
(27 of these 60 cancels were lost before core.outages.raise_if_cancelled)."""

from __future__ import annotations

import asyncio
import random

from api.app import flush_webhook_stats
from api.resources import Resources
from core.settings import Settings

TRIES = 60


async def test_the_webhook_stats_flusher_stops_when_cancelled_mid_command(settings: Settings) -> None:
    busy = settings.model_copy(update={"webhook_stats_flush_seconds": 0.0001})  # always in a Redis call
    resources = Resources.create(busy)
    chance = random.Random(7)
    kept_going = 0
    try:
        for _ in range(TRIES):
            flusher = asyncio.create_task(flush_webhook_stats(resources))
            await asyncio.sleep(chance.uniform(0.0005, 0.005))
            flusher.cancel()
            done, _ = await asyncio.wait([flusher], timeout=2)
            if not done:
                kept_going += 1
                flusher.cancel()  # once more, so that the next try starts clean
                await asyncio.wait([flusher], timeout=2)
    finally:
        await resources.close()
    assert kept_going == 0, f"{kept_going} of {TRIES} cancelled flushers went on flushing"
