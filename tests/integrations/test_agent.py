"""The agent step on the real stack (API, worker, Temporal, PostgreSQL, Redis) with a local model server in
OpenAI's shape: three tools (an HTTP action, a subworkflow, a refund that waits for a person, its arguments
edited by the decision); every turn and call once, each with its row; the step's output with every turn's
tokens and cost; limits; memory per session; and the recorded histories of its paths (replayed by
tests/worker/test_replay.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.definition.steps import definition_json_schema
from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from integrations.catalogue import action_input_schema
from tests.http_server import Reply, ScriptedServer
from tests.integrations import test_mcp
from tests.integrations.agent_flows import CHAT, call, decide, finished, sent, set_up
from tests.integrations.conftest import Studio, live_is
from tests.integrations.llm_servers import connect, openai_reply
from tests.integrations.test_chat import GatedModel
from tests.worker.recording import recording

PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"


def agent_rows(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["stepKey"]: row for row in execution["stepExecutions"] if row["stepId"] == "support"}


async def test_an_agent_with_three_tools_answers_with_an_approved_and_edited_call(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer
) -> None:
    workflow_id = await set_up(studio, model_server, http_server)
    execution_id = await studio.start(workflow_id, {"message": "Where is A-1? Refund it."})

    waiting = await studio.until(execution_id, live_is("waiting"))
    assert waiting is not None, "the run never waited for the refund"
    (under_way,) = [s for s in waiting["live"]["steps"] if s["stepId"] == "support"]
    assert (under_way["for"], under_way["tool"]) == ("approval", "refund")
    assert under_way["arguments"] == {"orderId": "A-1", "amount": 50}
    inbox = await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)
    assert [a["stepId"] for a in inbox.json()["items"] if a["executionId"] == execution_id] == ["support"]
    assert sent(http_server, "/refunds") == []  # nothing refunded before a person said so

    await decide(studio, execution_id, arguments={"orderId": "A-1", "amount": 20})
    execution = await finished(studio, execution_id)

    assert len(model_server.hits(CHAT)) == 3  # each turn once
    assert len(http_server.hits("/orders/A-1")) == 1
    assert sent(http_server, "/refunds") == [{"orderId": "A-1", "amount": 20}]  # the edited arguments
    # the model was offered the three tools, and read each tool's answer in the next turn
    first, second, _ = sent(model_server, CHAT)
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup_order", "shipping_status", "refund"]
    answers = {m["tool_call_id"]: m["content"] for m in second["messages"] if m["role"] == "tool"}
    assert json.loads(answers["call_1"])["body"] == {"id": "A-1", "total": 50, "currency": "EUR"}
    assert json.loads(answers["call_2"]) == {"order": "A-1", "status": "shipped"}

    rows = agent_rows(execution)
    output = rows["support"]["output"]
    assert output["answer"] == "Your order A-1 has shipped; I refunded 20 EUR."
    assert [t["turn"] for t in output["turns"]] == [1, 2, 3]
    assert all(t["usage"]["totalTokens"] == 1500 and t["costUsd"] > 0 for t in output["turns"])
    assert output["usage"] == {"inputTokens": 3000, "outputTokens": 1500, "totalTokens": 4500}
    assert output["costUsd"] == sum(t["costUsd"] for t in output["turns"])
    calls = {c["name"]: c for c in output["toolCalls"]}
    assert calls["refund"]["arguments"] == {"orderId": "A-1", "amount": 20}
    assert calls["refund"]["approval"]["approved"] is True
    assert calls["refund"]["approval"]["editedArguments"] is True
    assert calls["shipping_status"]["result"] == {"order": "A-1", "status": "shipped"}
    # each turn and each call has its own row, in run order, the turns with their tokens
    order = ["support/turn-1", "support/call-1", "support/call-2", "support/turn-2", "support/call-3"]
    assert [key for key in rows if key != "support"] == [*order, "support/turn-3"]
    assert rows["support/turn-2"]["output"]["usage"]["totalTokens"] == 1500
    assert rows["support/call-2"]["stepType"] == "subworkflow"
    assert rows["support/call-2"]["output"] == {"order": "A-1", "status": "shipped"}
    assert all(row["status"] == "SUCCESS" for row in rows.values())
    assert execution["result"]["answer"] == output["answer"]


async def test_a_rejected_call_is_told_to_the_model_and_nothing_is_called(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer
) -> None:
    workflow_id = await set_up(studio, model_server, http_server)
    execution_id = await studio.start(workflow_id, {"message": "Refund A-1"})
    await decide(studio, execution_id, approved=False)
    await finished(studio, execution_id)
    assert sent(http_server, "/refunds") == []
    last = sent(model_server, CHAT)[-1]
    told = [m["content"] for m in last["messages"] if m["role"] == "tool" and m["tool_call_id"] == "call_3"]
    assert told == [json.dumps({"error": "a person rejected this call: checked"})]


@pytest.mark.parametrize(
    ("limit", "error", "turns"),
    [
        ({"maxTokens": 2000}, "used 3000 tokens in 2 turns, over its maxTokens (2000)", 2),
        ({"maxCostUsd": 0.0001}, "in 1 turns, over its maxCostUsd ($0.0001)", 1),
        ({"maxTurns": 1}, "still called tools after 1 turns (its maxTurns)", 1),
    ],
)
async def test_an_agent_past_a_limit_fails_saying_which(
    studio: Studio,
    model_server: ScriptedServer,
    http_server: ScriptedServer,
    limit: dict[str, Any],
    error: str,
    turns: int,
) -> None:
    workflow_id = await set_up(studio, model_server, http_server, refund=False, **limit)
    execution = await studio.run(workflow_id, {"message": "Where is A-1?"})
    assert execution["status"] == "FAILED"
    assert error in execution["error"]
    assert len(model_server.hits(CHAT)) == turns


async def test_memory_keeps_the_conversation_per_session(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer
) -> None:
    memory = {"sessionKey": "{{ trigger.session }}", "maxMessages": 20}
    workflow_id = await set_up(studio, model_server, http_server, refund=False, memory=memory)
    first = await studio.run(workflow_id, {"message": "Where is A-1?", "session": "s-1"})
    assert first["status"] == "SUCCESS", first["error"]
    model_server.script(CHAT, *model_server.replies[CHAT][-1:])  # answers at once from now on
    again = await studio.run(workflow_id, {"message": "Thanks!", "session": "s-1"})
    other = await studio.run(workflow_id, {"message": "Hello", "session": "s-2"})
    assert again["status"] == other["status"] == "SUCCESS"
    asked = sent(model_server, CHAT)
    remembered = [m["content"] for m in asked[-2]["messages"] if m["role"] == "user"]
    assert remembered == ["Where is A-1?", "Thanks!"]
    assert [m["content"] for m in asked[-1]["messages"] if m["role"] == "user"] == ["Hello"]
    stored = await studio.client.get(f"{studio.base}/data-store/agent:s-1", headers=studio.headers)
    assert stored.status_code == 200, stored.text
    assert [m["role"] for m in stored.json()["value"]][:2] == ["user", "assistant"]


@recording
async def test_record_the_agent_paths(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer
) -> None:
    plain = await set_up(studio, model_server, http_server, refund=False)
    execution = await studio.run(plain, {"message": "Where is A-1?"})
    assert execution["status"] == "SUCCESS", execution["error"]
    await write_history(studio, execution["id"], "agent.json")

    approving = await set_up(studio, model_server, http_server)
    execution_id = await studio.start(approving, {"message": "Refund A-1"})
    await decide(studio, execution_id, arguments={"orderId": "A-1", "amount": 20})
    await finished(studio, execution_id)
    await write_history(studio, execution_id, "agent_approval.json")


async def write_history(studio: Studio, execution_id: str, name: str) -> None:
    handle = studio.engine.client.get_workflow_handle(f"run-{execution_id}")
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / name).write_text((await handle.fetch_history()).to_json())


def test_the_agent_examples_of_the_llm_page_are_valid() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "llm.md"
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", page.read_text(), re.S)]
    agents = [b for b in blocks if isinstance(b, dict) and b.get("type") == "agent"]
    assert agents, "docs/llm.md shows no agent step"
    definition = {"triggerType": "MANUAL", "triggerConfig": {}, "steps": agents}
    validate_definition(definition, action_schema=action_input_schema)


def agent_definition(**fields: Any) -> dict[str, Any]:
    step = {"id": "a", "type": "agent", "connectionId": "c", "model": "m", "message": "hi", **fields}
    return {"triggerType": "MANUAL", "triggerConfig": {}, "steps": [step]}


@pytest.mark.parametrize(
    ("fields", "path", "says"),
    [
        ({"tools": [{"name": "t", "action": "nope.nothing"}]}, "steps[0].tools[0].action", "unknown action"),
        (
            {"tools": [{"name": "t", "action": "http.request", "workflowId": "w"}]},
            "steps[0].tools[0]",
            "exactly one",
        ),
        (
            {"tools": [{"name": "t", "workflowId": "w"}, {"name": "t", "workflowId": "v"}]},
            "steps[0]",
            "two tools",
        ),
        ({"message": "{{ item.x }}"}, "steps[0].message", "only exists inside a loop"),
        (
            {"tools": [{"name": "t", "workflowId": "self"}]},
            "steps[0].tools[0].workflowId",
            "cannot call itself",
        ),
    ],
)
def test_an_agent_definition_is_refused_naming_the_field(
    fields: dict[str, Any], path: str, says: str
) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition(
            agent_definition(**fields),
            action_schema=action_input_schema,
            workflow_id="self",
            subworkflow_graph={},
        )
    assert path in str(refused.value.issues), refused.value.issues
    assert says in str(refused.value.issues)


def test_a_tools_input_reads_the_models_arguments_and_the_schema_has_the_agent_step() -> None:
    tool = {"name": "t", "action": "http.request", "input": {"url": "https://x.example/{{ item.id }}"}}
    validate_definition(
        agent_definition(tools=[{**tool, "parameters": {"type": "object"}}]),
        action_schema=action_input_schema,
    )
    schema = definition_json_schema()
    assert {"tools", "maxTurns", "maxTokens", "maxCostUsd", "memory"} <= set(
        schema["$defs"]["AgentStep"]["properties"]
    )
    assert "requireApproval" in schema["$defs"]["AgentTool"]["properties"]


mcp_server = test_mcp.mcp_server  # the MCP SDK's server behind a bearer token, as test_mcp runs it


async def test_an_mcp_servers_tool_is_an_agents_tool(
    studio: Studio, model_server: ScriptedServer, mcp_server: test_mcp.RunningServer
) -> None:
    model_server.script(
        CHAT,
        openai_reply(None, tool_calls=[call("call_1", "add", {"a": 2, "b": 3})]),
        openai_reply("2 + 3 = 5"),
    )
    llm = await connect(studio, model_server, "openai")
    server = await studio.connect("mcp", test_mcp.BEARER)
    adds = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    tool = {
        "name": "add",
        "mcp": {"url": mcp_server.url, "tool": "add"},
        "connectionId": server,
        "parameters": adds,
    }
    agent = {"id": "calc", "type": "agent", "connectionId": llm, "model": "gpt-4o-mini", "message": "2+3?"}
    execution = await studio.run(await studio.publish([{**agent, "tools": [tool]}]))
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["result"]["answer"] == "2 + 3 = 5"
    (answered,) = [m for m in sent(model_server, CHAT)[1]["messages"] if m["role"] == "tool"]
    assert json.loads(answered["content"])["text"] == "5"
    assert execution["result"]["toolCalls"][0]["result"]["isError"] is False


async def test_a_large_tool_answer_reaches_the_model_and_the_output_cut_to_a_bound(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer
) -> None:
    workflow_id = await set_up(studio, model_server, http_server, refund=False)
    http_server.script("/orders/A-1", Reply(200, {"id": "A-1", "lines": ["x" * 1000] * 200}))  # 200 KB
    execution = await studio.run(workflow_id, {"message": "Where is A-1?"})
    assert execution["status"] == "SUCCESS", execution["error"]
    (looked_up,) = [c for c in execution["result"]["toolCalls"] if c["name"] == "lookup_order"]
    assert isinstance(looked_up["result"], str)
    assert looked_up["result"].endswith("…(cut)")
    read = [
        m["content"] for m in sent(model_server, CHAT)[1]["messages"] if m.get("tool_call_id") == "call_1"
    ]
    assert read == [looked_up["result"]]


async def test_a_decision_before_the_agent_asks_is_refused_and_approves_nothing(
    studio: Studio, http_server: ScriptedServer
) -> None:
    model = GatedModel()  # the first turn is held: the agent has asked nothing yet
    try:
        workflow_id = await set_up(studio, model, http_server)
        execution_id = await studio.start(workflow_id, {"message": "Refund A-1"})
        early = await studio.client.post(
            f"{studio.base}/executions/{execution_id}/steps/support/decision",
            headers=studio.headers,
            json={"approved": True},
        )
        assert early.status_code == 409, early.text
        assert "not waiting" in early.json()["detail"]
        model.gate.set()
        waiting = await studio.until(execution_id, live_is("waiting"))
        assert waiting is not None, "the agent never asked to refund"
        assert sent(http_server, "/refunds") == []  # the early decision approved nothing
    finally:
        model.gate.set()
        model.close()
