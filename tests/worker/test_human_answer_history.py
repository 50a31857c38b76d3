"""The run itself refuses an answer its human step did not ask for (the `deliver` update's validator, so a
client that skips the API's check cannot put it in the run's history), and takes one that fits; a run of
such a step is recorded (tests/worker/histories/paths/human_answer.json)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core.contract import Decision
from core.runs.waits import Delivery
from tests.engine import Engine, output
from tests.integrations.test_human_answers import FIELDS, human
from tests.worker.recording import recording
from tests.worker.test_deliver import waits_of
from tests.worker.test_runs_end import ended

PATHS = Path(__file__).parent / "histories" / "paths"
STEPS = human(choices=["refund", "replace"], fields=FIELDS)


async def answered(engine: Engine) -> tuple[object, dict[str, object]]:
    handle = await engine.start(STEPS, {})
    waits = await waits_of(handle, "ask")
    assert waits["ask"]["choices"] == ["refund", "replace"]
    for bad, why in (
        (Decision("ask", True, choice="cash"), "choice: choose one of: refund, replace"),
        (Decision("ask", True, choice="refund", values={"amount": 501}), "values.amount: At most 500"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("deliver", Delivery("ask", decision=bad))
        assert why in str(refused.value.cause)
    good = Decision("ask", True, by="ops", choice="refund", values={"amount": "40", "by": "2026-12-24"})
    await handle.execute_update("deliver", Delivery("ask", decision=good))
    assert (await ended(engine, handle))[0] == "SUCCESS"
    return handle, output((await engine.step_rows(handle))["after"])


async def test_the_run_refuses_an_answer_it_did_not_ask_for(engine_worker: Engine) -> None:
    _, after = await answered(engine_worker)
    assert after == {
        "got": {
            "approved": True,
            "by": "ops",
            "comment": None,
            "choice": "refund",
            "values": {"amount": 40, "reason": None, "by": "2026-12-24"},
            "message": "Refund this order?",
        }
    }


@recording
async def test_record_a_human_step_answered_with_a_choice_and_values(engine_worker: Engine) -> None:
    handle, _ = await answered(engine_worker)
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "human_answer.json").write_text((await handle.fetch_history()).to_json())  # type: ignore[attr-defined]
