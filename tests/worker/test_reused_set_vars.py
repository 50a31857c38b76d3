"""A `set` step whose output is reused (a resumed run, a draft run's pinned outputs) puts its values in
`vars` as if it had run: before patch `reused-set-vars` the steps after it read null there
(tests/worker/histories/paths/reused_set_vars.json is a run after it)."""

from __future__ import annotations

from pathlib import Path

from tests.engine import Engine, output
from tests.worker.recording import recording
from tests.worker.test_runs_end import ended

PATHS = Path(__file__).parent / "histories" / "paths"
STEPS = [
    {"id": "name", "type": "set", "values": {"first": "{{ trigger.first }}"}},
    {"id": "greet", "type": "set", "values": {"text": "Hi {{ vars.first }}"}},
]


async def test_a_reused_set_step_puts_its_values_in_vars(engine_worker: Engine) -> None:
    handle = await engine_worker.start(STEPS, {"first": "no"}, reused_outputs={"name": {"first": "Ada"}})
    assert (await ended(engine_worker, handle))[0] == "SUCCESS"
    rows = await engine_worker.step_rows(handle)
    assert "name" not in rows  # reused, not run
    assert output(rows["greet"]) == {"text": "Hi Ada"}


@recording
async def test_record_a_run_reusing_a_set_step(engine_worker: Engine) -> None:
    handle = await engine_worker.start(STEPS, {}, reused_outputs={"name": {"first": "Ada"}})
    assert (await ended(engine_worker, handle))[0] == "SUCCESS"
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "reused_set_vars.json").write_text((await handle.fetch_history()).to_json())
