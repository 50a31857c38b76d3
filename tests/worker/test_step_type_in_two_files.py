"""A new step type is its model and its handler: two files (tests/fixtures/chant_step/model.py and
handler.py), nothing else of Baton changed. Installed for a child worker the way a package is seen by
Python (a `*.dist-info` naming the two in its entry points), the step is validated, listed in the
definition schema and run by a real worker, in a loop, its wait shown as the step's state.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from tests.chaos.conftest import Children
from tests.worker.plugins import (
    child_worker,
    entry_points,
    in_child,
    install_distribution,
    looped,
    rows_of_type,
)

PLUGIN = Path(__file__).parent.parent / "fixtures" / "chant_step"
ENTRY_POINTS = entry_points("chant", "chant_step.model:ChantStep", "chant_step.handler:chant")
DEFINITION = looped(
    {"id": "loud", "type": "chant", "text": "go {{ vars.who }}", "times": "{{ item + 1 }}"},
    {"id": "last", "type": "chant", "text": "bye", "pauseSeconds": 1},
)


def install(where: Path) -> dict[str, str]:
    """The two files as an installed distribution under `where`; the environment that sees it."""
    shutil.copytree(PLUGIN, where / "chant_step", ignore=shutil.ignore_patterns("__pycache__"))
    assert sorted(p.name for p in (where / "chant_step").iterdir()) == ["handler.py", "model.py"]
    return install_distribution(where, "chant-step", ENTRY_POINTS)


def test_a_step_type_in_two_files_is_validated_and_in_the_definition_schema(tmp_path: Path) -> None:
    answer = in_child(
        install(tmp_path),
        f"""
import json
from core.definition.steps import STEP_TYPES, definition_json_schema
from core.definition.validation import validate_definition
from worker.steps.context import HANDLERS
import worker.interpreter
validate_definition(json.loads({json.dumps(json.dumps(DEFINITION))}), action_schema=lambda name: None)
print(json.dumps({{"types": sorted(STEP_TYPES), "schema": sorted(definition_json_schema()["$defs"]),
                   "handled": sorted(model.__name__ for model in HANDLERS)}}))
""",
    )
    assert "chant" in answer["types"]
    assert "ChantStep" in answer["schema"]
    assert "ChantStep" in answer["handled"]


async def test_a_step_type_in_two_files_runs_in_a_worker_that_has_it_installed(
    children: Children,
) -> None:
    async with child_worker(children, install(children.logs)):
        # queued until the worker polls
        handle = await children.engine.start(DEFINITION["steps"], {"name": "ada"})
        waits: dict[str, Any] = {}
        for _ in range(600):  # the last step's pause, as the run's state says it
            try:  # the worker process may not poll yet
                state = await handle.query("state", rpc_timeout=timedelta(seconds=2))
            except (RPCError, WorkflowQueryFailedError):
                state = {}
            if "last" in state.get("waits", {}):
                waits = state["waits"]
                break
            await asyncio.sleep(0.1)
        result = await asyncio.wait_for(handle.result(), 120)

    assert waits["last"]["for"] == "delay"
    assert result.status == "SUCCESS", result
    assert result.result == {"chanted": "BYE!"}
    assert await rows_of_type(children.db, handle.id, "chant") == [  # one row per loop iteration
        ("last", "chant", "SUCCESS", {"chanted": "BYE!"}),
        ("loud", "chant", "SUCCESS", {"chanted": "GO ADA! GO ADA! GO ADA!"}),
        ("loud", "chant", "SUCCESS", {"chanted": "GO ADA! GO ADA!"}),
    ]
