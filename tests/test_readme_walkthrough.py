"""The README's "Your first workflow", run as written: its curl commands in bash, its Python in a fresh
interpreter, against a real API (uvicorn) and a real worker, with GitHub played by a local server that
answers its documented `GET /users/{login}` shape. The commands are read from the README between its
`<!-- walkthrough:... -->` markers, so the README cannot drift from what works."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from baton.embedded import free_port
from core.settings import Settings
from tests.api.conftest import served_api
from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer

README = Path(__file__).parent.parent / "README.md"
GITHUB = "https://api.github.com"
TORVALDS = {"login": "torvalds", "id": 1024025, "type": "User", "followers": 287000, "public_repos": 11}


def walkthrough(kind: str) -> str:
    """The code block between `<!-- walkthrough:{kind} -->` and its closing marker."""
    text = README.read_text()
    found = re.search(
        rf"<!-- walkthrough:{kind} -->\s*```\w+\n(.*?)```\s*<!-- /walkthrough:{kind} -->", text, re.S
    )
    assert found, f"README.md has no walkthrough:{kind} block"
    return found.group(1)


async def run(command: list[str], env: dict[str, str], timeout: float = 120) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    text = out.decode()
    assert process.returncode == 0, text
    return text


@pytest.fixture
def github(http_server: ScriptedServer) -> ScriptedServer:
    http_server.script("/users/torvalds", Reply(200, TORVALDS, {"content-type": "application/json"}))
    return http_server


async def test_the_readme_walkthrough_runs_as_written(
    settings: Settings, task_queue: str, engine_worker: Engine, github: ScriptedServer, tmp_path: Path
) -> None:
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"the README walkthrough needs {tool} (apt install {tool}; .ci/run installs it)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    served = settings.model_copy(update={"temporal_task_queue": task_queue, "public_url": url})
    env = {**os.environ, "BATON": url}
    assert engine_worker.writers is not None
    writing = asyncio.ensure_future(engine_worker.writers.run())  # as the worker does: a batch a second
    async with served_api(served, port=port):
        script = walkthrough("curl")
        assert "BATON=http://127.0.0.1:8000" in script
        assert GITHUB in script
        script = script.replace("BATON=http://127.0.0.1:8000", f"BATON={url}").replace(
            GITHUB, github.base_url
        )
        out = await run(["bash", "-euo", "pipefail", "-c", script], env)
        # the webhook's answer, from the respond step of the branch taken
        assert '{"followers":287000,"login":"torvalds","popular":true}' in out
        assert '"branchTaken": "then"' in out
        assert '"status": "SUCCESS"' in out
        assert "info\tExecution started" in out
        assert "event: execution" in out
        assert f"{settings.temporal_ui_url}/namespaces/" in out
        assert github.hits("/users/torvalds")

        python = tmp_path / "walkthrough.py"
        python.write_text(walkthrough("python").replace(GITHUB, github.base_url))
        out = await run([sys.executable, str(python)], env)
        assert "200 {'popular': True}" in out
        assert "popular SUCCESS" in out
        assert "execution SUCCESS" in out
    writing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writing
