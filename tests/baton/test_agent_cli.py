"""`baton approvals` with an agent's tool call waiting: the list shows the tool and the arguments the model
proposed, `decide --arguments JSON` approves it with edited ones (a value that is no JSON object is refused),
and the tool is called with them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from core.settings import Settings
from tests.api.conftest import served_api
from tests.baton.test_runs_cli import approvals_listing, baton, final_status, ops_workspace
from tests.engine import Engine
from tests.http_server import Reply, ScriptedServer
from tests.integrations.agent_flows import CHAT, STATUS_FLOW, model_turns, sent, support_agent
from tests.integrations.llm_servers import KEY


async def test_an_agents_tool_call_approved_from_the_terminal_with_edited_arguments(
    settings: Settings,
    task_queue: str,
    engine: AsyncEngine,
    engine_worker: Engine,
    http_server: ScriptedServer,
    tmp_path: Path,
) -> None:
    del engine_worker  # only needed running
    await seed(engine)  # the catalogue's integrations, which connections name
    model = ScriptedServer()
    model.script(CHAT, *model_turns(refund=True))
    http_server.script("/orders/A-1", Reply(200, {"id": "A-1", "total": 50}))
    http_server.script("/refunds", Reply(201, {"refunded": True}))
    config = tmp_path / "cli.json"
    try:
        async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
            headers, workspace, key = await ops_workspace(
                api, ["executions:read", "executions:write", "workflows:read"]
            )
            base = f"/api/v1/workspaces/{workspace['id']}"
            credentials = {"provider": "openai", "apiKey": KEY, "baseUrl": model.base_url + "/v1"}
            llm = await api.post(
                f"{base}/connections",
                headers=headers,
                json={"integrationId": "llm", "name": "llm", "credentials": credentials},
            )
            assert llm.status_code == 201, llm.text
            ids: list[str] = []
            for steps in (STATUS_FLOW, None):
                if steps is None:
                    steps = [support_agent(llm.json()["id"], http_server, ids[0], message="Refund A-1")]
                body = {"name": f"wf{len(ids)}", "triggerType": "MANUAL", "steps": steps}
                made = (await api.post(f"{base}/workflows", headers=headers, json=body)).json()
                await api.post(f"{base}/workflows/{made['id']}/publish", headers=headers, json={})
                ids.append(made["id"])
            run = (await api.post(f"{base}/workflows/{ids[1]}/run", headers=headers, json={})).json()
            code, out = await baton(config, "login", "--url", str(api.base_url), "--token", key)
            assert code == 0, out

            out = await approvals_listing(config, run["id"], 150)  # it reached its step
            assert 'calls refund with {"amount": 50, "orderId": "A-1"}' in out

            code, out = await baton(
                config, "approvals", "decide", run["id"], "support", "--approve", "--arguments", "[20]"
            )
            assert code == 1
            assert "--arguments must be a JSON object" in out
            edited = '{"orderId": "A-1", "amount": 20}'
            code, out = await baton(
                config, "approvals", "decide", run["id"], "support", "--approve", "--arguments", edited
            )
            assert code == 0, out
            assert "Approved support" in out
            assert await final_status(api, headers, base, run["id"]) == "SUCCESS"
        assert sent(http_server, "/refunds") == [{"orderId": "A-1", "amount": 20}]
    finally:
        model.close()
