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
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client

from core.settings import Settings
from tests.chaos.conftest import Process
from tests.engine import Engine

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
ENTRY_POINTS = """
[baton.step_types]
shout = shout_plugin:ShoutStep

[baton.step_handlers]
shout = shout_plugin:shout
"""
DEFINITION: dict[str, Any] = {
    "triggerType": "MANUAL",
    "steps": [
        {"id": "names", "type": "set", "values": {"who": "{{ trigger.name }}"}},
        {
            "id": "each",
            "type": "loop",
            "items": "{{ [1, 2] }}",
            "steps": [{"id": "loud", "type": "shout", "text": "hello {{ vars.who }}", "times": 2}],
        },
        {"id": "last", "type": "shout", "text": "bye"},
    ],
}


def install_plugin(where: Path) -> dict[str, str]:
    """The `shout` plug-in as an installed distribution under `where`; the environment that sees it."""
    (where / "shout_plugin.py").write_text(PLUGIN)
    info = where / "shout_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    path = os.pathsep.join(p for p in (str(where), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def in_child(env: dict[str, str], code: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


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
    tmp_path: Path,
    settings: Settings,
    temporal_client: Client,
    db: asyncpg.Connection,
    task_queue: str,
) -> None:
    env = {
        **install_plugin(tmp_path),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "WORKER_METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }
    worker = Process(["worker"], env, tmp_path / "worker.log")
    worker.start()
    try:
        engine = Engine(temporal_client, db, task_queue)
        handle = await engine.start(DEFINITION["steps"], {"name": "ada"})  # queued until the worker polls
        result = await asyncio.wait_for(handle.result(), 120)
    except TimeoutError:
        raise AssertionError((tmp_path / "worker.log").read_text()[-3000:]) from None
    finally:
        worker.stop()

    assert result.status == "SUCCESS", result
    assert result.result == {"shouted": "BYE!"}
    rows = await db.fetch(
        "SELECT step_id, step_type, status, output FROM step_executions WHERE execution_id = $1",
        handle.id.removeprefix("run-"),
    )
    shouts = [(r["step_id"], r["step_type"], r["status"], json.loads(r["output"])) for r in rows]
    assert sorted((s for s in shouts if s[1] == "shout"), key=str) == [  # one row per loop iteration
        ("last", "shout", "SUCCESS", {"shouted": "BYE!"}),
        ("loud", "shout", "SUCCESS", {"shouted": "HELLO ADA! HELLO ADA!"}),
        ("loud", "shout", "SUCCESS", {"shouted": "HELLO ADA! HELLO ADA!"}),
    ]
