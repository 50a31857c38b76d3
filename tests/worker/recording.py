"""What the history recorders share (tests/worker/test_record_histories.py, test_record_feature_histories.py):
where histories go, the switch that turns recording on, and the waits and reads around a recorded run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle

from tests.engine import Engine

HISTORIES = Path(__file__).parent / "histories"

recording = pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1",
    reason="records new histories only when BATON_RECORD_HISTORIES=1 (see tests/worker/test_replay.py)",
)


def set_step(step_id: str, **values: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "set", "values": values}


async def history_of(engine: Engine, workflow_id: str, run_id: str | None = None) -> str:
    return str(
        (await engine.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).to_json()
    )


async def wait_out(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await handle.result()
    except WorkflowFailureError:
        pass


async def first_run_id(handle: WorkflowHandle[Any, Any]) -> str:
    description = await handle.describe()
    return description.raw_description.workflow_execution_info.first_run_id or description.run_id or ""
