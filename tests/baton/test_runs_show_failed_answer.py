"""`baton runs show` of a run whose action a service refused: the step's line, then what the service
answered (status, content type, the start of its body)."""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import Settings
from tests.api.conftest import served_api
from tests.baton.test_runs_cli import baton, ops_workspace
from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer


async def test_runs_show_prints_what_the_service_answered_a_failed_step(
    settings: Settings, task_queue: str, engine_worker: Engine, http_server: ScriptedServer, tmp_path: Path
) -> None:
    del engine_worker  # only needed running
    url = http_server.script("/orders", Reply(500, {"error": "database connection pool exhausted"}))
    config = tmp_path / "cli.json"
    async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
        headers, workspace, key = await ops_workspace(api, ["executions:read", "workflows:read"])
        base = f"/api/v1/workspaces/{workspace['id']}"
        step = {
            "id": "save",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": url},
            "retry": {"maxAttempts": 1},
        }
        body = {"name": "Orders", "triggerType": "MANUAL", "steps": [step]}
        workflow = (await api.post(f"{base}/workflows", headers=headers, json=body)).json()
        await api.post(f"{base}/workflows/{workflow['id']}/publish", headers=headers, json={})
        run = await api.post(
            f"{base}/workflows/{workflow['id']}/run", headers=headers, params={"wait": "true"}, json={}
        )
        assert run.json()["status"] == "FAILED", run.text

        # what `baton login` stores (its own tests cover it)
        config.write_text(json.dumps({"url": str(api.base_url), "token": key, "workspace": workspace["id"]}))
        code, out = await baton(config, "runs", "show", run.json()["id"])

    assert code == 0, out
    lines = out.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("✗ save (action)"))
    assert lines[failed + 1 : failed + 3] == [
        "    answered 500 (application/json)",
        '    {"error": "database connection pool exhausted"}',
    ]
