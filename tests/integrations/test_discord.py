"""Discord end to end against a local server speaking its REST API: a webhook post then the bot's reply in
the same channel; a webhook's 429 is waited out; a bot post whose answer was lost is not posted twice on
retry (the enforced nonce); a bad webhook token fails once, says to reconnect and never shows the token;
bad input and incomplete connections are refused naming the field; the page's examples are valid steps."""

from __future__ import annotations

import json

import pytest

from integrations.catalogue import INTEGRATIONS
from tests.factories import action_step
from tests.http_server import serving
from tests.integrations.chat_apis import DiscordAPI
from tests.integrations.conftest import Studio
from tests.integrations.page_examples import example_steps

BOT = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GxYzAb.SECRETsecretSECRETsecret"
HOOK = "1200000000000000001/HOOKsecret_token-123"
CHANNEL = "1300000000000000001"

discord_api = serving(lambda: DiscordAPI(BOT, {HOOK: CHANNEL}, {CHANNEL}))


async def connect(studio: Studio, api: DiscordAPI, **credentials: str) -> str:
    return await studio.connect("discord", {"baseUrl": f"{api.base_url}/api/v10", **credentials})


async def test_a_webhook_post_then_the_bots_reply_to_it(studio: Studio, discord_api: DiscordAPI) -> None:
    connection = await connect(studio, discord_api, botToken=BOT, webhookUrl=discord_api.webhook_url(HOOK))
    tested = await studio.client.post(f"{studio.base}/connections/{connection}/test", headers=studio.headers)
    assert tested.status_code == 200, tested.text
    assert len(discord_api.hits("/api/v10/users/@me")) == 1
    assert len(discord_api.hits(f"/api/webhooks/{HOOK}")) == 1
    workflow = await studio.publish(
        [
            action_step(
                "alert",
                "discord.execute_webhook",
                {
                    "content": "Build {{ trigger.build }} failed",
                    "username": "CI",
                    "embeds": [{"title": "Logs", "url": "https://ci.example.com/1", "color": 15158332}],
                },
                connection,
            ),
            action_step(
                "follow_up",
                "discord.send_message",
                {
                    "channel_id": "{{ steps.alert.output.channel_id }}",
                    "content": "Looking into it",
                    "reply_to": "{{ steps.alert.output.id }}",
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"build": "77"})
    assert execution["status"] == "SUCCESS", execution["error"]
    alert, reply = discord_api.channels[CHANNEL]
    assert (alert["content"], alert["author"]["username"]) == ("Build 77 failed", "CI")
    assert alert["embeds"][0]["title"] == "Logs"
    assert reply["message_reference"]["message_id"] == alert["id"]
    assert reply["author"]["bot"] is True
    (posted,) = discord_api.hits(f"/api/webhooks/{HOOK}")[1:]
    assert posted.query["wait"] == ["true"]
    (sent,) = discord_api.hits(f"/api/v10/channels/{CHANNEL}/messages")
    assert sent.headers["Authorization"] == f"Bot {BOT}"
    assert json.loads(sent.body)["enforce_nonce"] is True
    assert execution["steps"]["follow_up"]["output"]["id"] == reply["id"]
    recorded = json.dumps(execution)
    assert BOT not in recorded
    assert "HOOKsecret" not in recorded


async def test_a_webhooks_rate_limit_is_waited_out(studio: Studio, discord_api: DiscordAPI) -> None:
    discord_api.limited = 1
    connection = await connect(studio, discord_api, webhookUrl=discord_api.webhook_url(HOOK))
    workflow = await studio.publish(
        [action_step("alert", "discord.execute_webhook", {"content": "hi"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    first, second = discord_api.hits(f"/api/webhooks/{HOOK}")
    assert second.at - first.at >= 0.9  # Retry-After: 1
    assert [m["content"] for m in discord_api.channels[CHANNEL]] == ["hi"]


async def test_a_post_whose_answer_was_lost_is_not_made_twice(
    studio: Studio, discord_api: DiscordAPI
) -> None:
    discord_api.lose_answers = 1
    connection = await connect(studio, discord_api, botToken=BOT)
    workflow = await studio.publish(
        [action_step("post", "discord.send_message", {"channel_id": CHANNEL, "content": "once"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    first, second = discord_api.hits(f"/api/v10/channels/{CHANNEL}/messages")
    assert json.loads(first.body)["nonce"] == json.loads(second.body)["nonce"]
    assert len(json.loads(first.body)["nonce"]) <= 25
    assert [m["content"] for m in discord_api.channels[CHANNEL]] == ["once"]
    assert execution["steps"]["post"]["output"]["id"] == discord_api.channels[CHANNEL][0]["id"]


async def test_a_bad_webhook_token_fails_once_and_never_shows_it(
    studio: Studio, discord_api: DiscordAPI
) -> None:
    stale = "1200000000000000001/STALEsecret_token"
    connection = await connect(studio, discord_api, webhookUrl=discord_api.webhook_url(stale))
    workflow = await studio.publish(
        [action_step("alert", "discord.execute_webhook", {"content": "hi"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Invalid Webhook Token" in execution["error"]
    assert "Reconnect" in execution["error"]
    assert len(discord_api.hits(f"/api/webhooks/{stale}")) == 1
    assert "STALEsecret" not in json.dumps(execution)


async def test_an_unknown_channel_is_not_retried(studio: Studio, discord_api: DiscordAPI) -> None:
    connection = await connect(studio, discord_api, botToken=BOT)
    workflow = await studio.publish(
        [action_step("post", "discord.send_message", {"channel_id": "42", "content": "x"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Unknown Channel" in execution["error"]
    assert len(discord_api.hits("/api/v10/channels/42/messages")) == 1


async def test_an_unreachable_webhook_never_shows_its_token(studio: Studio) -> None:
    url = f"http://127.0.0.1:9/api/webhooks/{HOOK}"
    connection = await studio.connect("discord", {"webhookUrl": url})
    workflow = await studio.publish(
        [
            action_step(
                "alert", "discord.execute_webhook", {"content": "hi"}, connection, retry={"maxAttempts": 1}
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "/api/webhooks/1200000000000000001/[redacted]" in execution["error"], execution["error"]
    assert "HOOKsecret" not in json.dumps(execution)


async def test_a_connection_needs_a_bot_token_or_a_webhook_url(studio: Studio) -> None:
    for credentials in ({}, {"webhookUrl": "https://discord.com/channels/1/2"}):
        refused = await studio.client.post(
            f"{studio.base}/connections",
            headers=studio.headers,
            json={"integrationId": "discord", "name": "d", "credentials": credentials},
        )
        assert refused.status_code in {400, 422}, refused.text
    assert "webhookUrl" in refused.text


def test_a_message_needs_content_or_embeds_and_a_channel_is_an_id() -> None:
    schema = INTEGRATIONS["discord"].actions["send_message"].input_model
    with pytest.raises(ValueError, match="content or embeds"):
        schema.model_validate({"channel_id": CHANNEL})
    with pytest.raises(ValueError, match="channel_id"):
        schema.model_validate({"channel_id": "../../users/@me", "content": "x"})


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("discord")] == [
        "discord.execute_webhook",
        "discord.send_message",
    ]
