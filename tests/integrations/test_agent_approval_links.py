"""An agent step's tool calls asked for through signed links, on the real stack (API, worker, Temporal,
PostgreSQL, Redis) with a local model server in OpenAI's shape and a local Slack: the step's `notify` steps
run for each call that waits, reading the tool, the proposed arguments and that call's own pair of links;
the link's page shows the tool and the arguments (escaped); approve and reject decide that call only (a link
of an earlier call decides nothing later); the run holds stand-ins, never a link; and the recorded history of
the path (tests/worker/histories/paths/agent_approval_links.json, replayed by tests/worker/test_replay.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.definition.steps import definition_json_schema
from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from core.runs.approval_links import (
    LINK_PATH,
    ApprovalLink,
    RunLinks,
    link_token,
    read_link,
    sibling,
    stand_in_pair,
)
from integrations.catalogue import action_input_schema
from tests.fakes import SlackAPI
from tests.http_server import Reply, ScriptedServer, serving
from tests.integrations.agent_flows import CHAT, REFUND, call, finished, sent
from tests.integrations.conftest import Studio, eventually
from tests.integrations.llm_servers import MODELS, connect, openai_reply
from tests.worker.recording import recording

TOKEN = "xoxb-agent-links-SECRET"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}
PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"
MARKUP = "<img src=x onerror=alert(1)>"
ASK = (
    "{{ steps.support.output.tool }} #{{ steps.support.output.call }} "
    "<{{ steps.support.output.approveUrl }}|Approve> · <{{ steps.support.output.rejectUrl }}|Reject>"
)

slack_api = serving(lambda: SlackAPI({TOKEN}))


async def set_up(studio: Studio, model: ScriptedServer, shop: ScriptedServer, slack: SlackAPI) -> str:
    """An agent whose model asks for two refunds, one after the other (the first with markup in its
    arguments), then answers; each refund asked for on Slack with its links."""
    model.script(
        CHAT,
        openai_reply(None, tool_calls=[call("call_1", "refund", {"orderId": MARKUP, "amount": 50})]),
        openai_reply(None, tool_calls=[call("call_2", "refund", {"orderId": "B-2", "amount": 9})]),
        openai_reply("Done."),
    )
    shop.script("/refunds", Reply(201, {"refunded": True}))
    llm = await connect(studio, model, "openai")
    slack_connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack.api_url})
    agent = {
        "id": "support",
        "type": "agent",
        "connectionId": llm,
        "model": MODELS["openai"],
        "message": "Refund both",
        "tools": [
            {
                "name": "refund",
                "action": "http.request",
                "input": {"method": "POST", "url": shop.base_url + "/refunds", "json": "{{ item }}"},
                "parameters": REFUND,
                "requireApproval": True,
            }
        ],
        "notify": [
            {
                "id": "ask",
                "type": "action",
                "action": "slack.send_message",
                "connectionId": slack_connection,
                "input": {"channel": "#finance", "text": ASK},
            }
        ],
    }
    return await studio.publish([agent])


async def asked(slack: SlackAPI, count: int) -> list[tuple[str, str]]:
    """The (approve, reject) link paths of the first `count` messages, once they are sent."""

    async def sent_so_far() -> list[dict[str, Any]] | None:
        messages = slack.channels.get("finance", [])
        return messages if len(messages) >= count else None

    messages = await eventually(sent_so_far, 30)
    assert messages, f"fewer than {count} approval messages reached Slack"
    pairs = []
    for message in messages[:count]:
        found = re.search(r"<([^|>]+)\|Approve> · <([^|>]+)\|Reject>", message["text"])
        assert found, message["text"]
        pairs.append((urlsplit(found.group(1)).path, urlsplit(found.group(2)).path))
    return pairs


async def test_each_tool_call_is_asked_with_its_own_links_that_decide_that_call_only(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer, slack_api: SlackAPI
) -> None:
    workflow_id = await set_up(studio, model_server, http_server, slack_api)
    execution_id = await studio.start(workflow_id, {})

    ((approve_1, reject_1),) = await asked(slack_api, 1)
    assert slack_api.channels["finance"][0]["text"].startswith("refund #1 <http")
    page = await studio.client.get(approve_1, headers=BROWSER)
    assert page.status_code == 200, page.text
    assert "<code>refund</code>" in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text  # the model's arguments, escaped
    assert MARKUP not in page.text
    shown = await studio.client.get(reject_1)
    assert shown.json()["tool"] == "refund"
    assert shown.json()["arguments"] == {"orderId": MARKUP, "amount": 50}
    assert shown.json()["decision"] == "reject"
    assert sent(http_server, "/refunds") == []  # nothing refunded before a person said so

    decided = await studio.client.post(approve_1)
    assert decided.status_code == 200, decided.text
    assert decided.json() == {"stepId": "support", "approved": True, "by": "approval-link"}

    _, (approve_2, reject_2) = await asked(slack_api, 2)
    assert slack_api.channels["finance"][1]["text"].startswith("refund #2 <http")
    assert {approve_2, reject_2}.isdisjoint({approve_1, reject_1})  # the second call has its own pair
    stale = await studio.client.get(reject_1)  # the first call's pair is used; it shows nothing later
    assert stale.status_code == 409, stale.text
    refused = await studio.client.post(reject_1)
    assert refused.status_code == 409, refused.text
    second = await studio.client.get(approve_2)
    assert second.json()["arguments"] == {"orderId": "B-2", "amount": 9}

    rejected = await studio.client.post(reject_2)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["approved"] is False
    execution = await finished(studio, execution_id)

    assert sent(http_server, "/refunds") == [{"orderId": MARKUP, "amount": 50}]  # the approved call only
    (agent,) = [row for row in execution["stepExecutions"] if row["stepKey"] == "support"]
    calls = agent["output"]["toolCalls"]
    assert [c["approval"]["approved"] for c in calls] == [True, False]
    assert {c["approval"]["by"] for c in calls} == {"approval-link"}
    # each call's notify step has its own row; the run holds stand-ins, never a link
    notified = [row for row in execution["stepExecutions"] if row["stepId"] == "ask"]
    assert sorted(row["stepKey"] for row in notified) == ["ask/1", "ask/2"]
    readable = json.dumps(execution)
    assert "/approval-links/" not in readable
    assert "approval-link.approve.support-1." in readable
    for path in (approve_1, reject_1, approve_2, reject_2):
        assert path.rsplit("/", 1)[1] not in readable
    again = await studio.client.post(approve_2)  # the pair works once
    assert again.status_code == 409, again.text

    # the inbox's decided list has both calls, the last first, each with its tool, arguments and decision
    inbox = await studio.client.get(
        f"{studio.base}/approvals",
        headers=studio.headers,
        params={"status": "decided", "executionId": execution_id},
    )
    assert inbox.status_code == 200, inbox.text
    items = inbox.json()["items"]
    assert [(a["stepId"], a["call"], a["tool"], a["status"]) for a in items] == [
        ("support", 2, "refund", "decided"),
        ("support", 1, "refund", "decided"),
    ]
    assert items[0]["arguments"] == {"orderId": "B-2", "amount": 9}
    assert [(a["decision"]["approved"], a["decision"]["by"]) for a in items] == [
        (False, "approval-link"),
        (True, "approval-link"),
    ]
    assert items[0]["decidedAt"]
    assert not items[0]["canDecide"]
    everything = await studio.client.get(
        f"{studio.base}/approvals",
        headers=studio.headers,
        params={"status": "all", "executionId": execution_id},
    )
    assert [a["call"] for a in everything.json()["items"]] == [2, 1]
    pending = await studio.client.get(
        f"{studio.base}/approvals", headers=studio.headers, params={"executionId": execution_id}
    )
    assert pending.json()["items"] == []


@recording
async def test_record_an_agent_call_decided_through_its_link(
    studio: Studio, model_server: ScriptedServer, http_server: ScriptedServer, slack_api: SlackAPI
) -> None:
    workflow_id = await set_up(studio, model_server, http_server, slack_api)
    execution_id = await studio.start(workflow_id, {})
    ((approve_1, _),) = await asked(slack_api, 1)
    assert (await studio.client.post(approve_1)).status_code == 200
    _, (_, reject_2) = await asked(slack_api, 2)
    assert (await studio.client.post(reject_2)).status_code == 200
    await finished(studio, execution_id)
    handle = studio.engine.client.get_workflow_handle(f"run-{execution_id}")
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "agent_approval_links.json").write_text((await handle.fetch_history()).to_json())


def test_an_agents_notify_steps_are_checked_as_steps_and_in_the_json_schema() -> None:
    notify = [{"id": "ask", "type": "set", "values": {"link": "{{ steps.a.output.approveUrl }}"}}]
    step = {"id": "a", "type": "agent", "connectionId": "c", "model": "m", "message": "hi", "notify": notify}
    definition = {"triggerType": "MANUAL", "triggerConfig": {}, "steps": [step]}
    validate_definition(definition, action_schema=action_input_schema)
    twice = {**step, "notify": [*notify, {"id": "a", "type": "set", "values": {}}]}
    with pytest.raises(InvalidDefinition) as refused:
        validate_definition({**definition, "steps": [twice]}, action_schema=action_input_schema)
    assert "steps[0].notify[1].id" in str(refused.value.issues)
    assert "notify" in definition_json_schema()["$defs"]["AgentStep"]["properties"]


def test_a_calls_link_names_its_call_and_a_steps_link_reads_as_before() -> None:
    secret, until = "s" * 32, datetime.now(UTC) + timedelta(hours=1)
    call_link = ApprovalLink("run-1", "support", True, until.replace(microsecond=0), 3)
    read = read_link(secret, link_token(secret, call_link))
    assert (read.step_id, read.call, read.approved) == ("support", 3, True)
    assert read_link(secret, sibling(secret, read)).call == 3  # the pair's other link: the same call
    step_link = read_link(secret, link_token(secret, replace(call_link, call=None)))
    assert step_link.call is None
    approve, _, _ = stand_in_pair(secret, "run-1", "support", None, 3)
    assert approve.startswith("approval-link.approve.support-3.")
    sent, links = RunLinks(secret, "https://baton.example.com", "run-1", {}).reveal(f"<{approve}|Approve>")
    token = sent.split(LINK_PATH, 1)[1].split("|")[0]
    assert read_link(secret, token).call == 3
    assert links.hide(sent) == f"<{approve}|Approve>"
    # sealed for another run: not revealed
    other, _ = RunLinks(secret, "https://baton.example.com", "run-2", {}).reveal(approve)
    assert other == approve
