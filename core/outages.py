"""Baton's own servers briefly out of reach: PostgreSQL, Redis or Temporal restarting, failing over, a
network blip.

Such an error is nobody's fault but the platform's, and it passes. What each part does with it:

- the worker: an action step that meets it waits and tries again, without spending the step's own retries
  (`BatonUnavailable`, handled like a rate limit by the interpreter); record writes retry until they land;
- the API: 503 with Retry-After and the store's name (never a 500), so a client knows it may retry;
- caches and rate limits (`best_effort`): a read-through cache reads PostgreSQL instead, a rate limit lets
  the call through, call counters skip the calls they could not count; all recover on their own once
  Redis answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

import asyncpg
import httpx
import redis.exceptions
import sqlalchemy.exc
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

logger = logging.getLogger("baton.outages")
T = TypeVar("T")

_REDIS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_POSTGRES = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free: the server is not answering
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08, and a connection that went away
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up
    asyncpg.exceptions.ConnectionDoesNotExistError,  # closed under a statement on the driver (core.db)
)
# What an outage can surface as (`unavailable_store` tells which of them are one): for exception handlers.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    *_REDIS,
    *_POSTGRES,
    sqlalchemy.exc.DBAPIError,
    ConnectionError,
    RPCError,
)
WARN_EVERY_SECONDS = 10.0
_last_warned: dict[str, float] = {}
_TEMPORAL_DOWN = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
# An HTTP call to a service (its refused connection chains a ConnectionRefusedError too) and an error an
# integration or activity already classified (ApplicationError) are never Baton's outage.
_NOT_OURS = (httpx.HTTPError, ApplicationError)


def unavailable_store(error: BaseException) -> str | None:
    """'Redis', 'PostgreSQL' or 'Temporal' when `error` (or what caused it) says that server is out of reach,
    else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _NOT_OURS):
            return None  # a third party's failure, or one already classified: what caused it is not ours
        if isinstance(current, _REDIS):
            return "Redis"
        if isinstance(current, _POSTGRES):
            return "PostgreSQL"
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return "PostgreSQL"
        if isinstance(current, RPCError) and current.status in _TEMPORAL_DOWN:
            return "Temporal"
        if isinstance(current, ConnectionError):  # refused or reset before a driver could wrap it
            return "PostgreSQL or Redis"
        current = current.__cause__ or current.__context__
    return None


def warn_unavailable(what: str, error: BaseException) -> None:
    """Logs an outage once per WARN_EVERY_SECONDS per `what`, not once per call."""
    now = time.monotonic()
    if now - _last_warned.get(what, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
        _last_warned[what] = now
        logger.warning("%s: %s is unreachable (%s)", what, unavailable_store(error), error)


def raise_if_cancelled() -> None:
    """Raises CancelledError when the current task is being cancelled. redis-py's asyncio client loses a
    cancellation that comes in the middle of a command, about one time in three here: the call returns as if
    nothing happened, or raises a ConnectionError. A loop that goes on after such a call would then never
    end (the API's webhook-stats flusher held the app's shutdown that way), and a cancelled call would pass
    for Redis being down: loops call this after each round, `except Exception` handlers before carrying on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def best_effort(call: Awaitable[T], default: T, what: str) -> T:
    """`call`'s result, or `default` when Redis (or PostgreSQL) is out of reach: for caches, rate limits and
    counters, which may be skipped while a server restarts. Any other error is raised."""
    try:
        return await call
    except Exception as exc:
        raise_if_cancelled()
        if unavailable_store(exc) is None:
            raise
        warn_unavailable(what, exc)
        return default
