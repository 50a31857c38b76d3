"""A step type is a plug-in: a package that names its model in the `baton.step_types` entry points and its
handler in `baton.step_handlers` adds a step type to validation, the definition schema and the interpreter,
with no change to Baton (docs/contributing.md, "Adding a step type").

The throwaway `shout` step lives in a directory made for the test and is installed the way a package is
seen by Python (a `*.dist-info` with `entry_points.txt` on the path), for child processes only: the
process running the tests keeps Baton's own step types.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.chaos.conftest import Children
from tests.worker.plugins import (
    child_worker,
    entry_points,
    in_child,
    install_distribution,
    looped,
    rows_of_type,
)

PLUGIN = '''
from typing import Any, Literal

from pydantic import Field

from core.definition.steps import StepBase


class ShoutStep(StepBase):
    """Says its text louder."""

    can_be_result = True
    type: Literal["shout"] = "shout"
    text: str = Field(description="What to shout (expressions allowed)")
    times: int = Field(default=1, ge=1, le=5)


async def shout(run: Any, call: Any) -> dict[str, Any]:
    text = str(run.render(call, call.step.text, "text"))
    return {"shouted": " ".join([text.upper() + "!"] * call.step.times)}
'''
ENTRY_POINTS = entry_points("shout", "shout_plugin:ShoutStep", "shout_plugin:shout")
DEFINITION = looped(
    {"id": "loud", "type": "shout", "text": "hello {{ vars.who }}", "times": 2},
    {"id": "last", "type": "shout", "text": "bye"},
)


def install_plugin(where: Path) -> dict[str, str]:
    """The `shout` plug-in as an installed distribution under `where`; the environment that sees it."""
    (where / "shout_plugin.py").write_text(PLUGIN)
    return install_distribution(where, "shout-plugin", ENTRY_POINTS)


def test_a_plugged_in_step_type_is_validated_and_in_the_definition_schema(tmp_path: Path) -> None:
    env = install_plugin(tmp_path)
    answer = in_child(
        env,
        f"""
import json
from core.definition.steps import STEP_TYPES, definition_json_schema
from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
definition = json.loads({json.dumps(json.dumps(DEFINITION))})
validate_definition(definition, action_schema=lambda name: None)
bad = {{**definition, "steps": [{{"id": "loud", "type": "shout", "times": 9}}]}}
try:
    validate_definition(bad, action_schema=lambda name: None)
    issues = []
except InvalidDefinition as error:
    issues = error.issues
schema = definition_json_schema()
print(json.dumps({{"types": sorted(STEP_TYPES), "issues": issues, "schema": sorted(schema["$defs"])}}))
""",
    )
    assert "shout" in answer["types"]
    assert "action" in answer["types"]
    paths = {issue["path"] for issue in answer["issues"]}
    assert paths == {"steps[0].text", "steps[0].times"}, answer["issues"]
    assert "ShoutStep" in answer["schema"]
    # the process running the tests never loaded it
    from core.definition.steps import STEP_TYPES

    assert "shout" not in STEP_TYPES


async def test_a_plugged_in_step_type_runs_in_a_worker_that_has_it_installed(
    children: Children,
) -> None:
    async with child_worker(children, install_plugin(children.logs)):
        # queued until the worker polls
        handle = await children.engine.start(DEFINITION["steps"], {"name": "ada"})
        result = await asyncio.wait_for(handle.result(), 120)

    assert result.status == "SUCCESS", result
    assert result.result == {"shouted": "BYE!"}
    assert await rows_of_type(children.db, handle.id, "shout") == [  # one row per loop iteration
        ("last", "shout", "SUCCESS", {"shouted": "BYE!"}),
        ("loud", "shout", "SUCCESS", {"shouted": "HELLO ADA! HELLO ADA!"}),
        ("loud", "shout", "SUCCESS", {"shouted": "HELLO ADA! HELLO ADA!"}),
    ]
