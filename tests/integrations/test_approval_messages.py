"""An approval's message is rendered as the step begins (the inbox, the live state, the link's page and the
notify message read `Refund 42 EUR?`), its one-click links reach only the message its notify step sends
(a VIEWER or an `executions:read` key reading the run finds stand-ins, never a link), and a link's page
takes nothing but the token Baton wrote."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.api.conftest import sign_up
from tests.fakes import SlackAPI
from tests.http_server import serving
from tests.integrations.conftest import Studio, eventually, live_is
from tests.worker.recording import recording

TOKEN = "xoxb-approvals-SECRET"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}
PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"


slack_api = serving(lambda: SlackAPI({TOKEN}))


ASKED = (
    "{{ steps.refund_ok.output.message }} <{{ steps.refund_ok.output.approveUrl }}|Approve> · "
    "<{{ steps.refund_ok.output.rejectUrl }}|Reject>"
)


def refund_steps(connection: str, text: str = ASKED) -> list[dict[str, Any]]:
    """The docs' example: an approval asked for on Slack, whose message and links the notify steps read."""
    return [
        {
            "id": "refund_ok",
            "type": "approval",
            "message": "Refund {{ trigger.body.amount }} EUR?",
            "timeoutSeconds": 3600,
            "notify": [
                {
                    "id": "ask",
                    "type": "action",
                    "action": "slack.send_message",
                    "connectionId": connection,
                    "input": {"channel": "#finance", "text": text},
                },
                {"id": "copy", "type": "set", "values": {"link": "{{ steps.refund_ok.output.approveUrl }}"}},
            ],
        },
        {"id": "refund", "type": "set", "values": {"done": "{{ steps.refund_ok.output.approved }}"}},
    ]


async def readers(studio: Studio) -> dict[str, dict[str, str]]:
    """The workspace's owner, a VIEWER and an `executions:read` key (none of the two may decide)."""
    viewer_email = f"viewer-{os.urandom(3).hex()}@example.com"
    viewer = await sign_up(studio.client, viewer_email)
    added = await studio.client.post(
        f"{studio.base}/members", headers=studio.headers, json={"email": viewer_email, "role": "VIEWER"}
    )
    assert added.status_code == 201, added.text
    made = await studio.client.post(
        "/api/v1/me/api-keys", headers=studio.headers, json={"name": "dash", "scopes": ["executions:read"]}
    )
    assert made.status_code == 201, made.text
    return {
        "owner": studio.headers,
        "viewer": viewer,
        "executions:read key": {"Authorization": f"Bearer {made.json()['key']}"},
    }


async def what_is_readable(studio: Studio, execution_id: str, headers: dict[str, str]) -> str:
    """Everything a caller reads about a run: the run with its steps and live state, its timeline, its log
    and the approvals inbox."""
    assert studio.engine.logs is not None
    await studio.engine.logs.flush()  # the worker writes log entries in batches
    seen = []
    for path, params in (
        (f"/executions/{execution_id}", {}),
        (f"/executions/{execution_id}/timeline", {}),
        (f"/executions/{execution_id}/logs", {}),
        ("/executions", {}),
        ("/approvals", {"status": "all"}),
    ):
        answer = await studio.client.get(f"{studio.base}{path}", headers=headers, params=params)
        assert answer.status_code == 200, (path, answer.text)
        seen.append(answer.text)
    return "\n".join(seen)


async def test_the_docs_refund_example_reads_as_rendered_in_the_inbox_live_state_page_and_slack(
    studio: Studio, slack_api: SlackAPI
) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    workflow = await studio.publish(refund_steps(connection))
    execution_id = await studio.start(workflow, {"body": {"amount": 42}})

    waiting = await studio.until(execution_id, live_is("waiting"))
    assert waiting, "the run never waited for its approval"
    assert waiting["live"]["steps"][0]["message"] == "Refund 42 EUR?"

    async def asked() -> list[dict[str, Any]]:
        return slack_api.channels.get("finance", [])

    (sent,) = await eventually(asked)
    assert sent["text"].startswith("Refund 42 EUR? <http"), sent["text"]
    found = re.search(r"<([^|>]+)\|Approve>", sent["text"])
    assert found, sent["text"]
    approve_path = urlsplit(found.group(1)).path

    inbox = await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)
    (approval,) = inbox.json()["items"]
    assert approval["message"] == "Refund 42 EUR?"
    page = await studio.client.get(approve_path, headers=BROWSER)
    assert page.status_code == 200, page.text
    assert "Refund 42 EUR?" in page.text
    assert (await studio.client.get(approve_path)).json()["message"] == "Refund 42 EUR?"
    assert studio.engine.logs is not None
    await studio.engine.logs.flush()
    logs = await studio.client.get(f"{studio.base}/executions/{execution_id}/logs", headers=studio.headers)
    assert any("Refund 42 EUR?" in entry["message"] for entry in logs.json()["items"]), logs.text

    assert (await studio.client.post(approve_path)).status_code == 200
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    assert done["steps"]["refund_ok"]["output"]["message"] == "Refund 42 EUR?"  # kept with the decision
    decided = await studio.client.get(
        f"{studio.base}/approvals", headers=studio.headers, params={"status": "decided"}
    )
    assert [a["message"] for a in decided.json()["items"]] == ["Refund 42 EUR?"]


async def test_a_viewer_or_a_read_key_finds_no_approval_link_in_a_run_while_slack_gets_working_ones(
    studio: Studio, slack_api: SlackAPI
) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    text = ASKED.replace("{{ steps.refund_ok.output.message }}", "Refund?")
    workflow = await studio.publish(refund_steps(connection, text))
    callers = await readers(studio)
    execution_id = await studio.start(workflow, {"body": {"amount": 42}})

    async def asked() -> list[dict[str, Any]]:
        return slack_api.channels.get("finance", [])

    (sent,) = await eventually(asked)
    approve_url = re.search(r"<([^|>]+)\|Approve>", sent["text"])  # the approver's message has the links
    reject_url = re.search(r"<([^|>]+)\|Reject>", sent["text"])
    assert approve_url, sent["text"]
    assert reject_url, sent["text"]
    tokens = [urlsplit(u.group(1)).path.rsplit("/", 1)[1] for u in (approve_url, reject_url)]
    approve_path = urlsplit(approve_url.group(1)).path
    assert approve_path.startswith("/api/v1/approval-links/")

    async def rows_written() -> dict[str, Any] | None:
        execution = await studio.execution(execution_id)
        return execution if "copy" in execution["steps"] and "ask" in execution["steps"] else None

    execution = await eventually(rows_written)
    for who, headers in callers.items():
        readable = await what_is_readable(studio, execution_id, headers)
        assert "/approval-links/" not in readable, who
        for token in tokens:
            assert token not in readable, who
    stand_in = execution["steps"]["copy"]["output"]["link"]  # what the run holds instead
    assert stand_in.startswith("approval-link.approve.refund_ok."), stand_in
    assert stand_in in execution["steps"]["ask"]["input"]["text"]
    assert stand_in in json.dumps(execution["steps"]["ask"]["output"])  # Slack's echo of the message

    decided = await studio.client.post(approve_path)  # the link in the message still decides
    assert decided.status_code == 200, decided.text
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done, "the run did not end"
    assert done["steps"]["refund"]["output"] == {"done": True}
    for who, headers in callers.items():
        readable = await what_is_readable(studio, execution_id, headers)
        assert "/approval-links/" not in readable, who
        for token in tokens:
            assert token not in readable, who


async def test_a_link_with_markup_appended_shows_no_page_and_the_page_posts_only_to_baton(
    studio: Studio, slack_api: SlackAPI
) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    workflow = await studio.publish(refund_steps(connection))
    await studio.start(workflow, {"body": {"amount": 7}})

    async def asked() -> list[dict[str, Any]]:
        return slack_api.channels.get("finance", [])

    (sent,) = await eventually(asked)
    found = re.search(r"<([^|>]+)\|Approve>", sent["text"])
    assert found, sent["text"]
    path = urlsplit(found.group(1)).path
    shown = await studio.client.get(path, headers=BROWSER)
    assert shown.status_code == 200, shown.text
    policy = shown.headers["content-security-policy"]
    assert "form-action 'self'" in policy
    assert "default-src 'none'" in policy

    for suffix in (
        '="><meta http-equiv=refresh content="0;url=https:evil.example">',
        "='><form action=https:evil.example><input name=password>",
    ):
        injected = await studio.client.get(path + suffix, headers=BROWSER)
        assert injected.status_code == 404, injected.text
        assert "<meta http-equiv" not in injected.text
        assert "<form action=https" not in injected.text
        assert "form-action 'self'" in injected.headers["content-security-policy"]
        refused = await studio.client.post(path + suffix)
        assert refused.status_code == 404, refused.text
    still = await studio.client.get(path)
    assert still.status_code == 200  # nothing was decided by the refused posts


async def test_an_expression_error_in_an_approval_message_fails_the_step_saying_where(studio: Studio) -> None:
    workflow = await studio.publish(
        [{"id": "approve", "type": "approval", "message": "Refund {{ trigger.body.amount / 0 }} EUR?"}]
    )
    execution = await studio.run(workflow, {"body": {"amount": 42}})
    assert execution["status"] == "FAILED", execution
    assert "step 'approve' message" in execution["error"]
    assert execution["steps"]["approve"]["status"] == "FAILED"
    inbox = await studio.client.get(f"{studio.base}/approvals", headers=studio.headers)
    assert inbox.json()["items"] == []  # nobody was asked


@recording
async def test_record_an_approval_with_a_rendered_message_and_notify_steps(
    studio: Studio, slack_api: SlackAPI
) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    steps = refund_steps(connection)
    workflow_id = await studio.publish(steps)
    handle = await studio.engine.start(steps, {"body": {"amount": 42}}, workflow_id=workflow_id)

    async def asked() -> list[dict[str, Any]]:
        return slack_api.channels.get("finance", [])

    (sent,) = await eventually(asked)
    found = re.search(r"<([^|>]+)\|Approve>", sent["text"])
    assert found, sent["text"]
    decided = await studio.client.post(urlsplit(found.group(1)).path)
    assert decided.status_code == 200, decided.text
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    text = (await handle.fetch_history()).to_json()
    assert "markerRecordedEventAttributes" in text  # the patch
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "approval_rendered_message.json").write_text(text)
