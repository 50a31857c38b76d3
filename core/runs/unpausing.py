"""Whether an unpause has anything to let go on, and if not, what the run waits for instead.

An unpause signal to a run that is neither paused (POST .../pause) nor parked on a failed step (onError
"pause") changes nothing, so answering 202 would tell the operator it worked: a run waiting for an
approval, for instance, still waits. Two sources tell: the step rows (`state` of the steps under way, see
core.runs.waits) say where the run is parked, and the run's state query says whether a pause was asked for
and not yet reached (a pause asked during a wait takes hold before the next step: unpause withdraws it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from core.contract import STATE_QUERY
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.runs.waits import ApprovalWait, DelayWait, ParkedWait, PauseWait, SubworkflowWait, parse_wait

# An unpause that cannot ask the run (no worker answers) is sent as before: it may be what frees it.
QUERY_TIMEOUT = timedelta(seconds=5)
# What an unpause acts on: paused before a step, or a step parked after it failed under onError "pause".
UNPAUSABLE = (PauseWait, ParkedWait)


async def waits_of(engine: AsyncEngine, execution_id: str) -> list[dict[str, Any]]:
    """The states of the run's steps under way (step id and state), in the order they began."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(STEPS.c.step_id, STEPS.c.state)
            .where(STEPS.c.execution_id == execution_id, STEPS.c.state.is_not(None))
            .order_by(STEPS.c.started_at)
        )
        return [{"stepId": row.step_id, **row.state} for row in rows if isinstance(row.state, Mapping)]


async def why_not_paused(
    engine: AsyncEngine, handle: WorkflowHandle[Any, Any], execution_id: str
) -> str | None:
    """None when an unpause has something to act on (or the run cannot be asked); else why it has not,
    naming what the run waits for."""
    steps = await waits_of(engine, execution_id)
    if any(isinstance(parse_wait(step), UNPAUSABLE) for step in steps):
        return None
    try:
        state: dict[str, Any] = await handle.query(STATE_QUERY, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, TimeoutError):
        return None
    # without the field, a worker of an older version answered: it cannot say, so the signal goes as before
    if "pauseRequested" not in state or state["pauseRequested"]:
        return None
    return not_paused(steps, list(state.get("waitingForDecision") or []))


def not_paused(steps: Sequence[Mapping[str, Any]], waiting_for_decision: Sequence[str]) -> str:
    """`the run is not paused: it waits for approval of step `approve``, and the like."""
    waits = [_wait(step) for step in steps if step.get("kind") == "waiting"]
    waits += [f"approval of step `{step_id}`" for step_id in waiting_for_decision]
    waits = list(dict.fromkeys(waits))  # an approval is in both sources
    if waits:
        doing = "it waits for " + " and ".join(waits)
    elif steps:
        doing = "it is running step " + ", ".join(f"`{step['stepId']}`" for step in steps)
    else:
        doing = "it is between steps"
    return f"the run is not paused: {doing} (POST .../pause parks it before its next step)"


def _wait(step: Mapping[str, Any]) -> str:
    step_id = step.get("stepId")
    match parse_wait(step):
        case ApprovalWait():
            return f"approval of step `{step_id}`"
        case DelayWait(until=until):
            return f"step `{step_id}`'s delay (until {until})"
        case SubworkflowWait(child_execution_id=child):
            return f"step `{step_id}`'s subworkflow (execution {child})"
        case _:
            return f"step `{step_id}` ({step.get('for')})"
