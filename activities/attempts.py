"""An action's attempts as its step's row shows them: the failure of an attempt carries its number and
time (the interpreter writes the true retry count and end from the last one), the row says what comes next
(another attempt, when; a wait for the rate limit), and `StepRecorder` is what writes it (implemented by
activities.records.RecordActivities)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.contract import RATE_LIMITED, ActionRequest, StepRecord
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
    """What an action activity needs to write rows (activities.records.RecordActivities)."""

    async def attempt_started(self, request: ActionRequest, *, counts: bool) -> None:
        raise NotImplementedError

    async def attempt_failed(self, request: ActionRequest, state: dict[str, Any], error: str) -> None:
        raise NotImplementedError

    async def write_action_result(
        self, request: ActionRequest, record: StepRecord, secrets: Secrets = NO_SECRETS
    ) -> None:
        raise NotImplementedError
