"""A run's steps are recorded in the order they ran: each row carries the sequence in which its step began
(rows written in one workflow task share their timestamps, so a condition's branch used to come before the
condition), and a condition or switch whose branch ends the run with a `stop` is recorded with the branch
it took, not with the stop's output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.runs import reads
from core.runs.timeline import timeline
from tests.engine import Engine, output
from tests.worker.recording import recording
from tests.worker.test_runs_end import ended

PATHS = Path(__file__).parent / "histories" / "paths"

# a set, a condition with a step in its branch, a loop of two items, a set: ten rows in one workflow task
RUN_ORDER: list[dict[str, Any]] = [
    {"id": "first", "type": "set", "values": {"n": 1}},
    {
        "id": "check",
        "type": "condition",
        "if": "{{ vars.n == 1 }}",
        "then": [{"id": "inside", "type": "set", "values": {"m": 2}}],
        "else": [],
    },
    {
        "id": "each",
        "type": "loop",
        "items": "{{ [1, 2] }}",
        "steps": [
            {
                "id": "pick",
                "type": "switch",
                "value": "{{ item }}",
                "cases": {"1": [], "2": []},
                "default": [],
            }
        ],
    },
    {"id": "last", "type": "set", "values": {"o": 3}},
]
IN_RUN_ORDER = ["first", "check", "inside", "each", "pick/0", "pick/1", "last"]


async def test_rows_come_back_in_the_order_their_steps_began(
    engine_worker: Engine, engine: AsyncEngine
) -> None:
    handle = await engine_worker.start(RUN_ORDER)
    assert (await ended(engine_worker, handle))[0] == "SUCCESS"
    execution_id = handle.id.removeprefix("run-")
    async with AsyncSession(engine) as session:
        rows = await reads.steps(session, execution_id)
    assert [row.step_key for row in rows] == IN_RUN_ORDER
    assert [row.sequence for row in rows] == list(range(1, len(IN_RUN_ORDER) + 1))
    definition = {"triggerType": "MANUAL", "triggerConfig": {}, "steps": RUN_ORDER}
    assert [item["key"] for item in timeline(definition, list(reversed(rows)))] == IN_RUN_ORDER


async def test_a_condition_whose_branch_stops_keeps_the_branch_it_took(engine_worker: Engine) -> None:
    steps = [
        {
            "id": "check",
            "type": "condition",
            "if": "{{ trigger.amount > 10 }}",
            "then": [{"id": "halt", "type": "stop", "status": "FAILED", "message": "too much"}],
            "else": [],
        },
        {"id": "never", "type": "set", "values": {}},
    ]
    handle = await engine_worker.start(steps, {"amount": 20})
    assert await ended(engine_worker, handle) == ("FAILED", "too much")
    rows = await engine_worker.step_rows(handle)
    assert output(rows["check"]) == {"result": True}
    assert output(rows["halt"]) == {"status": "FAILED", "message": "too much"}
    assert rows["check"]["sequence"] < rows["halt"]["sequence"]
    assert "never" not in rows


async def test_a_switch_whose_case_stops_keeps_the_case_it_matched(engine_worker: Engine) -> None:
    steps = [
        {
            "id": "route",
            "type": "switch",
            "value": "{{ trigger.kind }}",
            "cases": {"refund": [{"id": "done", "type": "stop", "status": "SUCCESS"}]},
            "default": [],
        }
    ]
    handle = await engine_worker.start(steps, {"kind": "refund"})
    assert (await ended(engine_worker, handle))[0] == "SUCCESS"
    assert output((await engine_worker.step_rows(handle))["route"]) == {"matched": "refund"}


@recording
async def test_record_a_run_whose_condition_branch_stops(engine_worker: Engine) -> None:
    steps = [
        *RUN_ORDER,
        {
            "id": "gate",
            "type": "condition",
            "if": "{{ trigger.amount > 10 }}",
            "then": [{"id": "halt", "type": "stop", "status": "SUCCESS", "message": "enough"}],
            "else": [],
        },
    ]
    handle = await engine_worker.start(steps, {"amount": 20})
    await handle.result()
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "condition_branch_stops.json").write_text((await handle.fetch_history()).to_json())
