"""An action's attempts as its step's row shows them: the failure of an attempt carries its number and
time (the interpreter writes the true retry count and end from the last one), the row says what comes next
(another attempt, when; a wait for the rate limit), and `StepRecorder` is what writes it (implemented by
activities.records.RecordActivities)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.contract import RATE_LIMITED, ActionRequest, ExecutionStarted, StepRecord
from core.redaction import NO_SECRETS, Secrets
from core.runs import live


def attempt_failure(failure: ApplicationError, attempt: int, at: datetime) -> ApplicationError:
    """The failure with its attempt's number and time in its first detail (`attempt`, `failedAt`): the
    interpreter writes the step's true retry count and end from the last one (its own clock stands still
    while a workflow task retries a local activity)."""
    details = failure.details[0] if failure.details and isinstance(failure.details[0], dict) else {}
    return ApplicationError(
        failure.message,
        {**details, "attempt": attempt, "failedAt": at.isoformat()},
        *failure.details[1:],
        type=failure.type,
        non_retryable=failure.non_retryable,
        next_retry_delay=failure.next_retry_delay,
    )


def next_attempt_state(failure: ApplicationError, info: activity.Info) -> dict[str, Any] | None:
    """What the step does after this failed attempt: `rateLimited` until the window frees, `retrying` at
    Temporal's next attempt, or None when this attempt was the last."""
    now = datetime.now(UTC)
    if failure.type == RATE_LIMITED:
        return live.rate_limited((now + (failure.next_retry_delay or timedelta(seconds=1))).isoformat())
    policy = info.retry_policy
    max_attempts = policy.maximum_attempts if policy is not None else 0
    if failure.non_retryable or (max_attempts and info.attempt >= max_attempts):
        return None
    if policy is not None and failure.type in (policy.non_retryable_error_types or ()):
        return None
    delay: timedelta | None = failure.next_retry_delay
    if delay is None and policy is not None:
        seconds = policy.initial_interval.total_seconds() * policy.backoff_coefficient ** (info.attempt - 1)
        cap = policy.maximum_interval or policy.initial_interval * 100
        delay = min(timedelta(seconds=seconds), cap)
    next_at = (now + delay).isoformat() if delay is not None else None
    return live.retrying(info.attempt, max_attempts, failure.message, next_at)


class StepRecorder:
    """What an action activity needs to write rows (activities.records.RecordActivities). `with_buffered`:
    the rows the interpreter buffered before the step (`request.records`) are written too."""

    @property
    def database(self) -> AsyncEngine | None:
        """Baton's database, for actions on the workspace's own data (the `store` integration)."""
        return None

    async def run_started(self, started: ExecutionStarted | None) -> bool:
        raise NotImplementedError

    async def attempt_started(self, request: ActionRequest, *, counts: bool) -> None:
        raise NotImplementedError

    async def attempt_failed(
        self, request: ActionRequest, state: dict[str, Any] | None, error: str, *, with_buffered: bool
    ) -> None:
        raise NotImplementedError

    async def write_action_result(
        self,
        request: ActionRequest,
        record: StepRecord,
        secrets: Secrets = NO_SECRETS,
        *,
        with_buffered: bool = True,
    ) -> None:
        raise NotImplementedError

    async def attempt_progressed(self, request: ActionRequest, state: dict[str, Any]) -> None:
        """The running step's row shows how far its call is (ActionContext.progress)."""
        raise NotImplementedError


# A first attempt's RUNNING row is written once the attempt has taken this long: a quick step is written
# once, at its end, with the rows buffered before it (one write per step, as the hot path needs); a slow
# one shows as running meanwhile. A retry's row is written at once.
ATTEMPT_ROW_DELAY_SECONDS = 0.5
logger = logging.getLogger("baton.records")


class AttemptRow:
    """The step's row while one attempt runs (and whether the rows buffered before it were written)."""

    def __init__(self, recorder: StepRecorder, request: ActionRequest, attempt: int) -> None:
        self._recorder = recorder
        self._request = request
        self._attempt = attempt
        self._later: asyncio.Task[None] | None = None
        self.written = False

    async def begin(self) -> None:
        if self._attempt > 1 or self._request.again:
            await self._write()
        else:
            self._later = asyncio.create_task(self._write_later())

    async def _write_later(self) -> None:
        await asyncio.sleep(ATTEMPT_ROW_DELAY_SECONDS)
        try:
            await self._write()
        except Exception as exc:  # the row is a view; the step goes on (its end writes the buffered rows)
            logger.warning("could not write the running row of %s: %s", self._request.step_key, exc)

    async def _write(self) -> None:
        # a call made again after a rate-limit or outage wait is no retry
        counts = not (self._request.again and self._attempt == 1)
        await self._recorder.attempt_started(self._request, counts=counts)
        self.written = True

    async def progressed(self, state: dict[str, Any]) -> None:
        """The step's row, written now if it was not yet, shows `state` (best effort: a view)."""
        try:
            if not self.written:
                self.stop()
                await self._write()
            await self._recorder.attempt_progressed(self._request, state)
        except Exception as exc:
            logger.warning("could not show the progress of %s: %s", self._request.step_key, exc)

    def stop(self) -> None:
        """The attempt is over (or was cancelled): no row is written after it."""
        if self._later is not None and not self._later.done():
            self._later.cancel()

    async def settle(self) -> bool:
        """Stops a row not yet written; whether the buffered rows were written."""
        if self._later is not None and not self._later.done():
            self._later.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._later
        return self.written
