"""A run parked on an approval says so: its `live` is `waiting` with the approval's message, approvers,
deadline and default decision; the step has a row while it waits; the log says when it began to wait; the
workspace's approvals inbox lists it with the caller's right to decide, and no longer once decided."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio, eventually, live_is


async def test_a_waiting_approval_is_in_the_run_the_list_and_the_inbox_until_decided(studio: Studio) -> None:
    workflow = await studio.publish(
        [
            {"id": "draft", "type": "set", "values": {"text": "hello"}},
            {
                "id": "approve",
                "type": "approval",
                "message": "Send the gold welcome?",
                "timeoutSeconds": 3600,
                "defaultDecision": "reject",
            },
            {"id": "after", "type": "set", "values": {"ok": "{{ steps.approve.output.approved }}"}},
        ]
    )
    execution_id = await studio.start(workflow)

    execution = await studio.until(execution_id, live_is("waiting"))
    assert execution, "the run never said it was waiting"
    assert execution["status"] == "RUNNING"  # the seed's status is unchanged
    (step,) = execution["live"]["steps"]
    assert step["stepId"] == "approve"
    assert step["for"] == "approval"
    assert step["message"] == "Send the gold welcome?"
    assert step["defaultDecision"] == "reject"
    assert step["expiresAt"] is not None
    assert execution["steps"]["approve"]["status"] == "RUNNING"
    assert execution["steps"]["draft"]["status"] == "SUCCESS"

    listed = await studio.client.get(
        f"{studio.base}/executions", headers=studio.headers, params={"state": "waiting"}
    )
    assert [e["id"] for e in listed.json()["items"]] == [execution_id]

    inbox = await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)
    assert inbox.status_code == 200, inbox.text
    (approval,) = inbox.json()["items"]
    assert approval["executionId"] == execution_id
    assert approval["stepId"] == "approve"
    assert approval["message"] == "Send the gold welcome?"
    assert approval["workflowId"] == workflow
    assert approval["status"] == "pending"
    assert approval["canDecide"] is True
    assert approval["requestedAt"] is not None

    assert studio.engine.logs is not None
    await studio.engine.logs.flush()  # the worker writes log entries in batches
    logs = await studio.client.get(f"{studio.base}/executions/{execution_id}/logs", headers=studio.headers)
    assert logs.status_code == 200, logs.text
    messages = [entry["message"] for entry in logs.json()["items"]]
    assert any("waiting for approval: Send the gold welcome?" in m for m in messages), messages

    decided = await studio.client.post(
        approval["decideUrl"], headers=studio.headers, json={"approved": True, "comment": "go"}
    )
    assert decided.status_code == 200, decided.text

    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    assert done["live"] is None
    assert done["steps"]["approve"]["state"] is None
    assert (await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)).json()["items"] == []
    history = await studio.client.get(
        f"{studio.base}/approvals", headers=studio.headers, params={"status": "decided"}
    )
    (past,) = history.json()["items"]
    assert past["decision"]["approved"] is True
    assert past["canDecide"] is False


async def test_an_approval_for_someone_else_is_listed_without_the_right_to_decide(studio: Studio) -> None:
    workflow = await studio.publish(
        [{"id": "approve", "type": "approval", "message": "CFO only", "approvers": ["someone-else"]}]
    )
    await studio.start(workflow)

    async def listed() -> list[dict[str, Any]]:
        inbox = await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)
        return list(inbox.json()["items"])

    (approval,) = await eventually(listed, timeout=20)
    assert approval["approvers"] == ["someone-else"]
    assert approval["canDecide"] is False


async def test_signed_links_sent_by_a_notify_step_decide_once_and_a_rejection_can_fail_the_run(
    studio: Studio, http_server: ScriptedServer
) -> None:
    chat = http_server.script("/chat", Reply(200, {"ok": True}))
    workflow = await studio.publish(
        [
            {
                "id": "approve",
                "type": "approval",
                "message": "Refund <b>40 EUR</b>?",
                "onReject": "fail",
                "notify": [
                    {
                        "id": "ask",
                        "type": "action",
                        "action": "http.request",
                        "input": {
                            "url": chat,
                            "method": "POST",
                            "json": {
                                "text": "Refund? {{ steps.approve.output.approveUrl }}",
                                "reject": "{{ steps.approve.output.rejectUrl }}",
                            },
                        },
                    }
                ],
            },
            {"id": "refund", "type": "set", "values": {"done": True}},
        ]
    )
    execution_id = await studio.start(workflow)

    async def asked() -> list[Any]:
        return http_server.hits("/chat")

    (hit,) = await eventually(asked, timeout=20)
    sent = json.loads(hit.body)
    approve_url = sent["text"].split(" ", 1)[1]
    reject_url = sent["reject"]
    assert "/api/v1/approval-links/" in approve_url
    approve_path, reject_path = (urlsplit(u).path for u in (approve_url, reject_url))

    browser = {"Accept": "text/html,application/xhtml+xml"}
    shown = await studio.client.get(reject_path, headers=browser)
    assert shown.status_code == 200, shown.text
    assert "Refund &lt;b&gt;40 EUR&lt;/b&gt;?" in shown.text  # escaped
    assert shown.text.count("<form method=post") == 2
    forged = reject_path[:-3] + ("AAA" if not reject_path.endswith("AAA") else "BBB")
    not_ours = await studio.client.get(forged)
    assert not_ours.status_code == 404
    assert not_ours.json()["error"] == "not_found"  # a program gets the API's error shape
    as_json = (await studio.client.get(reject_path)).json()
    assert (as_json["message"], as_json["decision"]) == ("Refund <b>40 EUR</b>?", "reject")

    rejected = await studio.client.post(reject_path, data={"comment": "too much"}, headers=browser)
    assert rejected.status_code == 200, rejected.text
    assert "Rejected" in rejected.text
    again = await studio.client.post(approve_path)
    assert again.status_code == 409  # the pair works once

    done = await studio.until(execution_id, lambda e: e["status"] not in ("PENDING", "RUNNING"))
    assert done, "the run did not end"
    assert done["status"] == "FAILED"
    assert "was not approved: rejected by approval-link: too much" in done["error"]
    assert "refund" not in done["steps"]
    assert done["steps"]["ask"]["status"] == "SUCCESS"
    decided = await studio.client.get(approve_path, headers=browser)
    assert decided.status_code == 409
    assert "Already decided" in decided.text


async def test_an_approve_link_lets_the_run_go_on(studio: Studio, http_server: ScriptedServer) -> None:
    chat = http_server.script("/chat", Reply(200, {"ok": True}))
    notify = {
        "id": "ask",
        "type": "action",
        "action": "http.request",
        "input": {"url": chat, "method": "POST", "json": {"yes": "{{ steps.approve.output.approveUrl }}"}},
    }
    workflow = await studio.publish(
        [{"id": "approve", "type": "approval", "message": "Ship it?", "notify": [notify]}]
    )
    execution_id = await studio.start(workflow)

    async def asked() -> list[Any]:
        return http_server.hits("/chat")

    (hit,) = await eventually(asked, timeout=20)
    approved = await studio.client.post(urlsplit(json.loads(hit.body)["yes"]).path)
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"stepId": "approve", "approved": True, "by": "approval-link"}

    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    assert done["result"] == {"approved": True, "by": "approval-link", "comment": None, "message": "Ship it?"}
