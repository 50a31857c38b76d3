"""What the agent step's tests share: a support agent with three tools (an HTTP action, a published workflow
run as a subworkflow, and a refund that needs a person's approval), the model's turns in OpenAI's shape, and
the services they call; all on local servers."""

from __future__ import annotations

import json
from typing import Any

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio, eventually
from tests.integrations.llm_servers import MODELS, connect, openai_reply

CHAT = "/v1/chat/completions"
ORDER = {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]}
REFUND = {
    "type": "object",
    "properties": {"orderId": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["orderId", "amount"],
}
STATUS_FLOW = [
    {"id": "status", "type": "set", "values": {"order": "{{ trigger.orderId }}", "status": "shipped"}}
]


def call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def model_turns(*, refund: bool) -> list[Reply]:
    """Turn 1 looks the order up and asks its shipping status at once; turn 2 refunds (when `refund`);
    the last turn answers."""
    turns = [
        openai_reply(
            None,
            tool_calls=[
                call("call_1", "lookup_order", {"orderId": "A-1"}),
                call("call_2", "shipping_status", {"orderId": "A-1"}),
            ],
        )
    ]
    if refund:
        turns.append(
            openai_reply(
                "Refunding.", tool_calls=[call("call_3", "refund", {"orderId": "A-1", "amount": 50})]
            )
        )
    turns.append(openai_reply("Your order A-1 has shipped; I refunded 20 EUR."))
    return turns


def support_agent(
    llm: str, shop: ScriptedServer, status_workflow: str, *, refund: bool = True, **more: Any
) -> dict[str, Any]:
    tools: list[dict[str, Any]] = [
        {
            "name": "lookup_order",
            "description": "An order's details",
            "action": "http.request",
            "input": {"method": "GET", "url": shop.base_url + "/orders/{{ item.orderId }}"},
            "parameters": ORDER,
        },
        {
            "name": "shipping_status",
            "description": "Where an order is",
            "workflowId": status_workflow,
            "parameters": ORDER,
        },
    ]
    if refund:
        tools.append(
            {
                "name": "refund",
                "description": "Refund part of an order",
                "action": "http.request",
                "input": {"method": "POST", "url": shop.base_url + "/refunds", "json": "{{ item }}"},
                "parameters": REFUND,
                "requireApproval": True,
            }
        )
    return {
        "id": "support",
        "type": "agent",
        "connectionId": llm,
        "model": MODELS["openai"],
        "system": "You help the shop's customers.",
        "message": "{{ trigger.message }}",
        "tools": tools,
        **more,
    }


async def set_up(
    studio: Studio,
    model_server: ScriptedServer,
    shop: ScriptedServer,
    *,
    refund: bool = True,
    trigger: tuple[str, dict[str, Any]] = ("MANUAL", {}),
    **more: Any,
) -> str:
    """Scripts the model and the shop, publishes the status workflow and the agent's (with `trigger`: its
    type and config); the agent's workflow id."""
    model_server.script(CHAT, *model_turns(refund=refund))
    shop.script("/orders/A-1", Reply(200, {"id": "A-1", "total": 50, "currency": "EUR"}))
    shop.script("/refunds", Reply(201, {"refunded": True}))
    llm = await connect(studio, model_server, "openai")
    status_workflow = await studio.publish(STATUS_FLOW)
    return await studio.publish([support_agent(llm, shop, status_workflow, refund=refund, **more)], *trigger)


async def decide(
    studio: Studio, execution_id: str, approved: bool = True, arguments: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Decides the agent's pending tool call once the run waits on it; the decision's answer."""
    body: dict[str, Any] = {"approved": approved, "comment": "checked"}
    if arguments is not None:
        body["arguments"] = arguments

    async def decided() -> dict[str, Any] | None:
        answer = await studio.client.post(
            f"{studio.base}/executions/{execution_id}/steps/support/decision",
            headers=studio.headers,
            json=body,
        )
        return answer.json() if answer.status_code == 200 else None

    found: dict[str, Any] | None = await eventually(decided, 30)
    assert found is not None, "the agent never waited for the refund's approval"
    return found


async def finished(studio: Studio, execution_id: str) -> dict[str, Any]:
    """The execution once it has ended, with its steps; it must have succeeded."""
    execution = await studio.until(execution_id, lambda e: e["status"] not in ("PENDING", "RUNNING"), 60)
    assert execution is not None, f"execution {execution_id} did not end"
    assert execution["status"] == "SUCCESS", execution["error"]
    return execution


def sent(server: ScriptedServer, path: str) -> list[Any]:
    return [json.loads(hit.body) for hit in server.hits(path)]
