"""Heartbeats of an action's activity (core.execution_profiles): an action of a profile with a heartbeat
timeout (`long`) is kept alive by the activity layer while its code runs, so a single slow call (one LLM
answer) is not taken for a dead worker, while a worker that dies is noticed within the timeout rather
than the step's whole timeout. The action's own `ctx.heartbeat(details)` / `ctx.progress` add details."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from temporalio import activity

from core.execution_profiles import ExecutionProfile

# Beats per heartbeat timeout: Temporal's own SDKs throttle to 0.8 of it; three leaves room for a slow beat.
BEATS_PER_TIMEOUT = 3
# The details the action's code last gave, per attempt: the background beats repeat them, since Temporal
# keeps only the last beat's details (what a retry resumes from: `resumed_from`).
_last_details: ContextVar[list[Any] | None] = ContextVar("last_heartbeat_details", default=None)


def heartbeat(details: Any = None) -> None:
    """A local activity cannot heartbeat (it lives in its workflow's task): its progress only shows."""
    if activity.in_activity() and not activity.info().is_local:
        if details is not None and (kept := _last_details.get()) is not None:
            kept[:] = [details]
        activity.heartbeat(*(() if details is None else (details,)))


def resumed_from() -> Any:
    """The details of the last heartbeat of this activity's earlier attempt, or None."""
    if not activity.in_activity() or activity.info().is_local:
        return None
    details = activity.info().heartbeat_details
    return details[0] if details else None


@contextlib.asynccontextmanager
async def kept_alive(profile: ExecutionProfile) -> AsyncIterator[None]:
    """Heartbeats in the background while the block runs, when the profile asks for heartbeats."""
    timeout = profile.heartbeat_timeout
    if timeout is None or not activity.in_activity() or activity.info().is_local:
        yield
        return
    interval = timeout.total_seconds() / BEATS_PER_TIMEOUT
    kept: list[Any] = []
    token = _last_details.set(kept)

    async def beat() -> None:
        while True:
            activity.heartbeat(*kept)
            await asyncio.sleep(interval)

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        _last_details.reset(token)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
