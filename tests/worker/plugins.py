"""What the step-type plug-in tests share (test_step_plugins.py, test_step_type_in_two_files.py): a package
installed the way Python sees one (a `*.dist-info` with its entry points on PYTHONPATH) for child processes
only, code run in such a child, a `baton worker` child that has it, and the step rows its runs wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from tests.chaos.conftest import Children, Process, worker_env


def entry_points(step_type: str, model: str, handler: str) -> str:
    """The `entry_points.txt` of a distribution adding `step_type`: its model and its handler."""
    return f"[baton.step_types]\n{step_type} = {model}\n\n[baton.step_handlers]\n{step_type} = {handler}\n"


def looped(step: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """A manual workflow that keeps the trigger's name as `vars.who`, runs `step` in a loop over [1, 2],
    then `last`."""
    return {
        "triggerType": "MANUAL",
        "steps": [
            {"id": "names", "type": "set", "values": {"who": "{{ trigger.name }}"}},
            {"id": "each", "type": "loop", "items": "{{ [1, 2] }}", "steps": [step]},
            last,
        ],
    }


def install_distribution(where: Path, name: str, entry_points: str) -> dict[str, str]:
    """A distribution `name` 0.1 with `entry_points` under `where` (its code already there); the
    environment in which a child process sees it."""
    info = where / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    path = os.pathsep.join(p for p in (str(where), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def in_child(env: dict[str, str], code: str) -> dict[str, Any]:
    """Runs `code` in a child Python with `env`; the JSON object its last line prints."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@asynccontextmanager
async def child_worker(children: Children, env: dict[str, str]) -> AsyncIterator[Process]:
    """A `baton worker` child with `env` (as `install_distribution` answers it) polling the tests' task queue,
    stopped on leaving; a TimeoutError inside fails the test with the end of the worker's log."""
    worker = children.start(["worker"], worker_env(children.settings, children.task_queue, env))
    try:
        yield worker
    except TimeoutError:
        raise AssertionError((children.logs / "worker.log").read_text()[-3000:]) from None
    finally:
        worker.stop()


async def rows_of_type(db: asyncpg.Connection, workflow_id: str, step_type: str) -> list[tuple[Any, ...]]:
    """The run's step rows of `step_type` as (step id, type, status, output), sorted."""
    rows = await db.fetch(
        "SELECT step_id, step_type, status, output FROM step_executions WHERE execution_id = $1",
        workflow_id.removeprefix("run-"),
    )
    found = [(r["step_id"], r["step_type"], r["status"], json.loads(r["output"])) for r in rows]
    return sorted((row for row in found if row[1] == step_type), key=str)
