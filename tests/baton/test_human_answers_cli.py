"""`baton approvals` with a human step that asks for a choice and values: the list says what to give,
`decide --choice --value NAME=VALUE` gives it (a mistake comes back naming the field), and the run goes on
with them."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from tests.api.conftest import served_api
from tests.baton.test_runs_cli import approvals_listing, baton, final_status, ops_workspace
from tests.engine import Engine
from tests.integrations.test_human_answers import FIELDS, human


async def test_a_choice_and_values_given_from_the_terminal(
    settings: Settings, task_queue: str, engine_worker: Engine, tmp_path: Path
) -> None:
    del engine_worker  # only needed running
    config = tmp_path / "cli.json"
    async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
        headers, workspace, key = await ops_workspace(api, ["executions:read", "executions:write"])
        base = f"/api/v1/workspaces/{workspace['id']}"
        body = {
            "name": "Refunds",
            "triggerType": "MANUAL",
            "steps": human(choices=["refund", "replace"], fields=FIELDS),
        }
        workflow = (await api.post(f"{base}/workflows", headers=headers, json=body)).json()
        await api.post(f"{base}/workflows/{workflow['id']}/publish", headers=headers, json={})
        run = (await api.post(f"{base}/workflows/{workflow['id']}/run", headers=headers, json={})).json()
        code, out = await baton(config, "login", "--url", str(api.base_url), "--token", key)
        assert code == 0, out

        out = await approvals_listing(config, run["id"])  # it reached its step
        assert "choose one (--choice): refund, replace" in out
        assert "--value amount=... (number, required)" in out

        code, out = await baton(
            config, "approvals", "decide", run["id"], "ask", "--approve", "--choice", "refund"
        )
        assert code == 1
        assert "values.amount" in out
        code, out = await baton(
            config,
            "approvals",
            "decide",
            run["id"],
            "ask",
            "--approve",
            "--choice",
            "refund",
            "--value",
            "amount=40",
        )
        assert code == 0, out
        assert "Approved ask" in out
        assert await final_status(api, headers, base, run["id"]) == "SUCCESS"
        detail = (await api.get(f"{base}/executions/{run['id']}", headers=headers)).json()
        after = next(s for s in detail["stepExecutions"] if s["stepId"] == "after")
        assert after["output"]["got"]["values"]["amount"] == 40
        assert after["output"]["got"]["choice"] == "refund"
