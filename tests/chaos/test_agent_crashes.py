"""An agent run survives its worker killed twice, with no model turn and no tool effect repeated: once while
a tool's HTTP call is in flight (the call made again carries the same Idempotency-Key, so the service applies
it once), once while the run waits for a person to approve the refund. Every model turn that reached
Temporal is read back from the run's history, never asked again: the model server sees each turn once."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle

from baton.seeding import seed
from core.contract import DELIVER_UPDATE, STATE_QUERY, Decision, RunResult
from core.crypto import CredentialCipher
from core.runs.waits import Delivery
from tests.chaos.conftest import Children, record
from tests.chaos.test_crash_repeats import HoldingServer
from tests.factories import create_user, create_workflow, create_workspace
from tests.http_server import Reply, ScriptedServer
from tests.integrations.agent_flows import CHAT, STATUS_FLOW, model_turns, sent, support_agent
from tests.integrations.conftest import eventually
from tests.integrations.llm_servers import KEY


async def waits_for_approval(handle: WorkflowHandle[object, RunResult]) -> bool:
    async def waiting() -> bool:
        try:
            state = await handle.query(STATE_QUERY)
        except Exception:  # no worker yet to answer the query
            return False
        return "support" in state["waitingForDecision"]

    return bool(await eventually(waiting, 90))


async def test_a_worker_killed_mid_agent_repeats_no_model_turn_and_no_tool_effect(
    engine: AsyncEngine, children: Children
) -> None:
    await seed(engine)
    settings, db = children.settings, children.db
    model, shop = ScriptedServer(), HoldingServer()
    try:
        model.script(CHAT, *model_turns(refund=True))
        shop.script("/hold", Reply(200, {"id": "A-1", "total": 50, "currency": "EUR"}))
        shop.script("/refunds", Reply(201, {"refunded": True}))
        user, workspace = await create_user(db), await create_workspace(db)
        sealed = CredentialCipher.from_settings(settings).seal(
            {"provider": "openai", "apiKey": KEY, "baseUrl": model.base_url + "/v1"}
        )
        llm = str(
            await db.fetchval(
                "INSERT INTO connections (user_id, workspace_id, integration_id, name, credentials) "
                "VALUES ($1, $2, 'llm', 'llm', $3) RETURNING id",
                user,
                workspace,
                json.dumps(sealed),
            )
        )
        status_workflow = await create_workflow(db, STATUS_FLOW, workspace_id=workspace, user_id=user)
        agent = support_agent(llm, shop, status_workflow)
        agent["tools"][0]["input"]["url"] = shop.base_url + "/hold"  # the lookup is held in flight
        steps = [agent]
        workflow_id = await create_workflow(db, steps, workspace_id=workspace, user_id=user)
        worker = children.start(["worker"])
        handle = await children.engine.start(
            steps, {"message": "Where is A-1? Refund it."}, workflow_id=workflow_id
        )
        assert await asyncio.to_thread(shop.held.wait, 90), "the agent never called its lookup tool"
        worker.kill()  # turn 1 is in the history; the lookup's call is in flight
        shop.release.set()
        worker.start()
        assert await waits_for_approval(handle), "the agent never asked to refund"
        worker.kill()  # nothing in flight: the run waits for a person
        worker.start()
        decision = Decision("support", True, by=user, arguments={"orderId": "A-1", "amount": 20})
        await handle.execute_update(DELIVER_UPDATE, Delivery("support", decision=decision), result_type=dict)
        result = await asyncio.wait_for(handle.result(), 90)
        worker.stop()

        lookups = shop.hits("/hold")
        child_runs = await db.fetchval(
            "SELECT count(*) FROM workflow_executions WHERE workflow_id = $1", status_workflow
        )
        record(
            "worker SIGKILL mid-agent: during a tool call, then while it waits for an approval",
            model_turns=len(model.hits(CHAT)),
            lookup_calls=len(lookups),
            lookup_keys=len({hit.headers.get("Idempotency-Key") for hit in lookups}),
            subworkflow_runs=child_runs,
            refunds=len(shop.hits("/refunds")),
        )
        assert result.status == "SUCCESS", result.error
        assert result.result["answer"] == "Your order A-1 has shipped; I refunded 20 EUR."
        assert len(model.hits(CHAT)) == 3  # each turn once
        assert 1 <= len(lookups) <= 2  # the call in flight may be made again...
        assert len({hit.headers.get("Idempotency-Key") for hit in lookups}) == 1  # ...under the same key
        assert child_runs == 1
        assert sent(shop, "/refunds") == [{"orderId": "A-1", "amount": 20}]
    finally:
        shop.release.set()
        shop.close()
        model.close()
