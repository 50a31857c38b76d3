"""Slack end to end: published workflows post and edit messages, a poller fires on new channel messages,
and a refused token fails the step once with a message that says to reconnect."""

from __future__ import annotations

from tests.factories import action_step
from tests.fakes import SlackAPI
from tests.http_server import serving
from tests.integrations.conftest import Studio, eventually

TOKEN = "xoxb-valid-SECRET"


slack_api = serving(lambda: SlackAPI({TOKEN}))


async def test_a_workflow_posts_then_edits_a_message(studio: Studio, slack_api: SlackAPI) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    workflow = await studio.publish(
        [
            action_step(
                "post",
                "slack.send_message",
                {"channel": "#general", "text": "Deploy {{ trigger.version }} started"},
                connection,
            ),
            action_step(
                "edit",
                "slack.update_message",
                {
                    "channel": "{{ steps.post.output.channel }}",
                    "ts": "{{ steps.post.output.ts }}",
                    "text": "Deploy {{ trigger.version }} done",
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"version": "1.4"})
    assert execution["status"] == "SUCCESS", execution["error"]
    assert [m["text"] for m in slack_api.channels["general"]] == ["Deploy 1.4 done"]
    posted = slack_api.hits("/api/chat.postMessage")[0]
    assert posted.headers["Authorization"] == f"Bearer {TOKEN}"
    assert execution["steps"]["post"]["output"]["ts"] == slack_api.channels["general"][0]["ts"]
    assert TOKEN not in str(execution)  # the token never shows in what was recorded
    usage = await studio.usage()
    assert [(u["integration_id"], u["action"], u["success"]) for u in usage] == [
        ("slack", "send_message", True),
        ("slack", "update_message", True),
    ]


async def test_a_refused_token_fails_once_and_says_to_reconnect(studio: Studio, slack_api: SlackAPI) -> None:
    connection = await studio.connect("slack", {"accessToken": "xoxb-revoked", "baseUrl": slack_api.api_url})
    execution = await studio.run_action(
        "post", "slack.send_message", connection, {"channel": "#general", "text": "hello"}
    )
    assert execution["status"] == "FAILED"
    assert "invalid_auth" in execution["error"]
    assert "Reconnect" in execution["error"]
    assert len(slack_api.hits("/api/chat.postMessage")) == 1  # not retried: it cannot help
    assert [u["error"] for u in await studio.usage()] == ["AuthenticationFailed"]


async def test_a_user_error_is_not_retried_and_names_slacks_reason(
    studio: Studio, slack_api: SlackAPI
) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    execution = await studio.run_action(
        "edit", "slack.update_message", connection, {"channel": "general", "ts": "1.2", "text": "x"}
    )
    assert execution["status"] == "FAILED"
    assert "message_not_found" in execution["error"]
    assert len(slack_api.hits("/api/chat.update")) == 1


async def test_new_messages_in_a_channel_start_one_run_each(studio: Studio, slack_api: SlackAPI) -> None:
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    slack_api.channels["C1"] = [
        {"type": "message", "user": "U1", "text": "old news", "ts": "1600000000.000100"}
    ]
    workflow = await studio.poll(
        "slack.new_message",
        {"channel": "C1"},
        connection,
        [{"id": "got", "type": "set", "values": {"text": "{{ trigger.text }}"}}],
    )

    async def polled() -> bool:
        return len(slack_api.hits("/api/conversations.history")) >= 1

    assert await eventually(polled)
    with slack_api.lock:
        slack_api.channels["C1"].append(
            {"type": "message", "user": "U2", "text": "ship it", "ts": "1800000000.000100"}
        )
        slack_api.channels["C1"].append(
            {"type": "message", "bot_id": "B1", "text": "beep", "ts": "1800000001.000100"}
        )

    async def ran() -> list[str]:
        done = [e for e in await studio.executions(workflow) if e["status"] == "SUCCESS"]
        return [e["steps"]["got"]["output"]["text"] for e in done]

    assert await eventually(ran) == ["ship it"]  # not the old message, not the bot's

    async def cursor_moved() -> bool:  # past everything seen, bots' messages included
        return slack_api.hits("/api/conversations.history")[-1].query.get("oldest") == ["1800000001.000100"]

    assert await eventually(cursor_moved)
