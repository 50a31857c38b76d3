"""The terms of one action call, apart from the runtime that makes it (activities.actions): the idempotency
key a step keeps across its retries, the rate limit a connection may lower, and how an ActionError becomes
the Temporal failure a run keeps (with approval links hidden again)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from core.runs.approval_links import RunLinks
from integrations.sdk import ActionError, RateLimit

IDEMPOTENCY_NAMESPACE = uuid.UUID("6c0b7a51-3f0e-4d0c-9a36-8a1d2f4b5e77")


def to_application_error(error: ActionError) -> ApplicationError:
    return ApplicationError(
        error.message,
        error.details,
        type=error.type,
        non_retryable=not error.retryable,
        next_retry_delay=timedelta(seconds=error.retry_after) if error.retry_after is not None else None,
    )


def without_links(failure: ApplicationError, links: RunLinks) -> ApplicationError:
    """The failure as the run may keep it: an approval link a service echoed back is its stand-in again."""
    if not links.shown:
        return failure
    return ApplicationError(
        links.hide(failure.message),
        *links.hide(list(failure.details)),
        type=failure.type,
        non_retryable=failure.non_retryable,
        next_retry_delay=failure.next_retry_delay,
    )


def idempotency_key(execution_id: str, step_key: str) -> str:
    """Stable for one step (one loop iteration) of one execution, whatever the attempt."""
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{execution_id}/{step_key}"))


def effective_limit(declared: RateLimit | None, own: dict[str, Any] | None) -> RateLimit | None:
    """The integration's limit, lowered (never raised) by the connection's own."""
    if not own or not own.get("limit"):
        return declared
    mine = RateLimit(int(own["limit"]), int(own.get("windowSeconds") or 60))
    if declared is None:
        return mine
    # Compare as rates, keeping the stricter one.
    if mine.limit / mine.window_seconds <= declared.limit / declared.window_seconds:
        return mine
    return declared
