"""One typed wait: the run's state query says what each waiting step waits for (core.runs.waits), and the
`deliver` update hands a waiting step what it waits for; `decide` still works for runs in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from core.contract import Decision
from tests.engine import Engine

APPROVAL: list[dict[str, Any]] = [
    {"id": "review", "type": "approval", "message": "Ship {{ trigger.what }}?", "approvers": ["boss"]},
    {"id": "after", "type": "set", "values": {"by": "{{ steps.review.output.by }}"}},
]


async def waits_of(handle: WorkflowHandle[Any, Any], step_id: str) -> dict[str, Any]:
    """The run's typed waits once `step_id` waits."""
    for _ in range(200):
        state = await handle.query("state")
        if step_id in state.get("waits", {}):
            return dict(state["waits"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"{step_id} never waited: {state}")


async def test_a_decision_delivered_ends_the_approval(engine_worker: Engine) -> None:
    from core.runs.waits import Delivery

    handle = await engine_worker.start(APPROVAL, {"what": "v2"})
    waits = await waits_of(handle, "review")
    assert waits == {
        "review": {
            "kind": "waiting",
            "for": "approval",
            "message": "Ship v2?",
            "approvers": ["boss"],
            "expiresAt": None,
            "defaultDecision": "reject",
        }
    }
    decision = Decision("review", True, by="boss", comment="go")
    answer = await handle.execute_update("deliver", Delivery("review", decision=decision))
    assert answer == {"stepId": "review", "approved": True}
    assert (await handle.result()).result == {"by": "boss"}


async def test_a_delivery_the_wait_cannot_take_is_refused_and_decide_still_works(
    engine_worker: Engine,
) -> None:
    from core.runs.waits import Delivery

    handle = await engine_worker.start(APPROVAL, {"what": "v2"})
    await waits_of(handle, "review")
    with pytest.raises(WorkflowUpdateFailedError) as nothing:
        await handle.execute_update("deliver", Delivery("review"))
    assert "gives exactly one of: decision" in str(nothing.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as elsewhere:
        await handle.execute_update(
            "deliver", Delivery("after", decision=Decision("review", True, by="boss"))
        )
    assert "delivered to 'after'" in str(elsewhere.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as intruder:
        await handle.execute_update("deliver", Delivery("review", decision=Decision("review", True, by="x")))
    assert "x may not decide step 'review'" in str(intruder.value.cause)
    # a run in flight is still sent `decide` by an API of the version before
    await handle.execute_update("decide", Decision("review", False, by="boss"))
    assert (await handle.result()).result == {"by": "boss"}


async def test_the_state_query_says_a_delay_waits_until_when_and_forgets_it_after(
    engine_worker: Engine,
) -> None:
    steps = [
        {"id": "nap", "type": "delay", "seconds": 2},
        {"id": "review", "type": "approval", "message": "ok?"},
    ]
    handle = await engine_worker.start(steps)
    waits = await waits_of(handle, "nap")
    assert waits["nap"]["for"] == "delay"
    assert waits["nap"]["until"]
    waits = await waits_of(handle, "review")
    assert list(waits) == ["review"]  # the delay is over
    state = await handle.query("state")
    assert state["waitingForDecision"] == ["review"]
    await handle.execute_update("decide", Decision("review", True))
    await handle.result()
