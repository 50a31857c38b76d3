"""What a run is doing while it has not ended, beside the seed's ExecutionStatus (which stays PENDING or
RUNNING): each step that has not ended keeps its state in `step_executions.state`, and the run's `live`
is made from them.

A step's state is one of (camelCase on the wire, as the API returns it):
- `{"kind": "running"}`: an action's attempt is under way; `{"kind": "running", "progress": {"done": 3,
  "total": 10, "message": "page 3 of 10"}}` when its call says how far it is (ActionContext.progress;
  `total` and `message` optional);
- `{"kind": "retrying", "attempt": 2, "maxAttempts": 3, "lastError": "...", "nextAttemptAt": "..."}`:
  an attempt failed and Temporal will try again (`attempt` is the one that failed; `maxAttempts` 0 means
  no limit);
- `{"kind": "rateLimited", "resumesAt": "..."}`: the connection's rate limit is full;
- `{"kind": "waiting", "for": "approval", "message", "approvers", "expiresAt", "defaultDecision"}`,
  `{"kind": "waiting", "for": "delay", "until"}`, `{"kind": "waiting", "for": "subworkflow",
  "childExecutionId", "workflowId"}`, `{"kind": "waiting", "for": "pause", "pausedBy", "reason"}` (paused
  at a step boundary: POST .../pause) and `{"kind": "waiting", "for": "fix", "lastError", "attempt"}` (a
  step that failed under onError "pause", waiting for an operator): the typed waits of core.runs.waits,
  each with its sentence.

A run of a workflow with a concurrency limit that waits for a slot is PENDING with `live.state` `waiting`
and `live.slot` `{"key", "limit", "place"}` (`place` 1: the next to start).

The run's `live.state` is the most telling of its steps' kinds (waiting, then retrying, then rateLimited,
then running; `running` between steps too, `pending` before the run has begun), and `live` is null once
the run has ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.models import ExecutionStatus
from core.models.enums import OPEN_STATUSES

RUNNING = "running"
RETRYING = "retrying"
RATE_LIMITED = "rateLimited"
WAITING = "waiting"
PENDING = "pending"
# Most telling first: what the run's `live.state` says when several steps are under way.
KINDS = (WAITING, RETRYING, RATE_LIMITED, RUNNING)
STATES = (*KINDS, PENDING)


def running() -> dict[str, Any]:
    return {"kind": RUNNING}


def progressing(figures: dict[str, Any]) -> dict[str, Any]:
    return {"kind": RUNNING, "progress": dict(figures)}


def retrying(attempt: int, max_attempts: int, last_error: str, next_attempt_at: str | None) -> dict[str, Any]:
    return {
        "kind": RETRYING,
        "attempt": attempt,
        "maxAttempts": max_attempts,
        "lastError": last_error,
        "nextAttemptAt": next_attempt_at,
    }


def rate_limited(resumes_at: str) -> dict[str, Any]:
    return {"kind": RATE_LIMITED, "resumesAt": resumes_at}


def run_live(
    status: str, steps: Iterable[Mapping[str, Any]], slot: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """A run's `live` from its ExecutionStatus and the rows (step_id, state, started_at) of its steps that
    have not ended (`slot`: its place in a concurrency queue, core.runs.concurrency); None once the run has
    ended."""
    if status not in OPEN_STATUSES:
        return None
    if slot is not None and status == ExecutionStatus.PENDING.value:  # not started: waits for a slot
        return {"state": WAITING, "steps": [], "slot": dict(slot)}
    under_way = [
        {"stepId": step["step_id"], "since": step.get("started_at"), **step["state"]}
        for step in steps
        if isinstance(step.get("state"), Mapping)
    ]
    kinds = {step["kind"] for step in under_way}
    idle = PENDING if status == ExecutionStatus.PENDING.value else RUNNING  # between steps
    state = next((kind for kind in KINDS if kind in kinds), idle)
    return {"state": state, "steps": under_way}
