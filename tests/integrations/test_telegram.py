"""Telegram end to end against a local Bot API server: a published workflow sends a message and then a
downloaded file as a document in reply to it; Telegram's 429 is waited out as its `retry_after` says; a
refused token fails once and says to reconnect, never showing the token; the poller starts one run per
update the bot receives; and the page's examples are steps the server takes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.settings import Settings
from integrations.catalogue import INTEGRATIONS
from tests.factories import action_step
from tests.http_server import Reply, ScriptedServer, serving
from tests.integrations.chat_apis import TelegramAPI
from tests.integrations.conftest import Studio, eventually
from tests.integrations.page_examples import example_steps

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = -1001234567890
PDF = b"%PDF-1.7\n" + os.urandom(50_000)

telegram_api = serving(lambda: TelegramAPI({TOKEN}, {CHAT}))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


async def connect(studio: Studio, api: TelegramAPI, token: str = TOKEN) -> str:
    return await studio.connect("telegram", {"botToken": token, "baseUrl": api.base_url})


async def test_a_workflow_sends_a_message_then_a_document_in_reply(
    studio: Studio, telegram_api: TelegramAPI, http_server: ScriptedServer
) -> None:
    invoice = http_server.script("/invoice.pdf", Reply(200, PDF, {"content-type": "application/pdf"}))
    connection = await connect(studio, telegram_api)
    workflow = await studio.publish(
        [
            action_step(
                "notify",
                "telegram.send_message",
                {"chat_id": str(CHAT), "text": "Order {{ trigger.order }} paid", "parse_mode": "HTML"},
                connection,
            ),
            action_step("download", "http.request", {"url": invoice, "responseFormat": "file"}),
            action_step(
                "invoice",
                "telegram.send_document",
                {
                    "chat_id": CHAT,
                    "document": "{{ steps.download.output.file }}",
                    "caption": "Invoice {{ trigger.order }}",
                    "reply_to_message_id": "{{ steps.notify.output.message_id }}",
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"order": "A-17"})
    assert execution["status"] == "SUCCESS", execution["error"]
    text, document = telegram_api.chats[CHAT]
    assert (text["text"], text["parse_mode"]) == ("Order A-17 paid", "HTML")
    assert document["caption"] == "Invoice A-17"
    assert document["reply_parameters"] == {"message_id": text["message_id"]}
    sent = document["document"]
    assert (sent["file_name"], sent["mime_type"], bytes.fromhex(sent["bytes"])) == (
        "invoice.pdf",
        "application/pdf",
        PDF,
    )
    notify = execution["steps"]["notify"]["output"]
    assert (notify["message_id"], notify["chat_id"], notify["text"]) == (
        text["message_id"],
        CHAT,
        "Order A-17 paid",
    )
    assert execution["steps"]["invoice"]["output"]["document"]["file_id"] == sent["file_id"]
    assert TOKEN not in json.dumps(execution)
    usage = await studio.usage()
    assert [
        (u["integration_id"], u["action"], u["success"]) for u in usage if u["integration_id"] == "telegram"
    ] == [
        ("telegram", "send_message", True),
        ("telegram", "send_document", True),
    ]


async def test_too_many_requests_is_waited_out_as_telegram_says(
    studio: Studio, telegram_api: TelegramAPI
) -> None:
    telegram_api.flood = 1
    connection = await connect(studio, telegram_api)
    workflow = await studio.publish(
        [action_step("notify", "telegram.send_message", {"chat_id": CHAT, "text": "hi"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    first, second = telegram_api.hits(f"/bot{TOKEN}/sendMessage")
    assert second.at - first.at >= 0.9  # parameters.retry_after: 1
    assert [m["text"] for m in telegram_api.chats[CHAT]] == ["hi"]


async def test_a_refused_token_fails_once_says_to_reconnect_and_never_shows_the_token(
    studio: Studio, telegram_api: TelegramAPI
) -> None:
    revoked = "987654321:AAFrevokedrevokedrevokedrevokedrevo"
    connection = await connect(studio, telegram_api, revoked)
    workflow = await studio.publish(
        [action_step("notify", "telegram.send_message", {"chat_id": CHAT, "text": "hi"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Unauthorized" in execution["error"]
    assert "Reconnect" in execution["error"]
    assert len(telegram_api.hits(f"/bot{revoked}/sendMessage")) == 1  # not retried: it cannot help
    assert revoked not in json.dumps(execution)


async def test_an_unknown_chat_is_the_users_to_fix_and_not_retried(
    studio: Studio, telegram_api: TelegramAPI
) -> None:
    connection = await connect(studio, telegram_api)
    workflow = await studio.publish(
        [action_step("notify", "telegram.send_message", {"chat_id": "@nobody", "text": "hi"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "chat not found" in execution["error"]
    assert len(telegram_api.hits(f"/bot{TOKEN}/sendMessage")) == 1


async def test_an_unreachable_server_never_shows_the_token_in_the_error(studio: Studio) -> None:
    connection = await studio.connect("telegram", {"botToken": TOKEN, "baseUrl": "http://127.0.0.1:9"})
    workflow = await studio.publish(
        [
            action_step(
                "notify",
                "telegram.send_message",
                {"chat_id": CHAT, "text": "hi"},
                connection,
                retry={"maxAttempts": 1},
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "/bot[redacted]/sendMessage" in execution["error"], execution["error"]
    assert TOKEN not in json.dumps(execution)


async def test_each_update_the_bot_receives_starts_one_run(studio: Studio, telegram_api: TelegramAPI) -> None:
    connection = await connect(studio, telegram_api)
    telegram_api.receive(100, "message", CHAT, "before")
    workflow = await studio.publish(
        [
            {
                "id": "got",
                "type": "set",
                "values": {"text": "{{ trigger.text }}", "kind": "{{ trigger.update_kind }}"},
            }
        ],
        "POLLING",
        {
            "trigger": "telegram.new_update",
            "config": {},
            "connectionId": connection,
            "pollingIntervalSeconds": 1,
        },
    )

    async def ran() -> list[tuple[str, str]]:
        done = [e for e in await studio.executions(workflow) if e["status"] == "SUCCESS"]
        return sorted(
            (e["steps"]["got"]["output"]["text"], e["steps"]["got"]["output"]["kind"]) for e in done
        )

    async def polled_past(update_id: int) -> bool:
        hits = telegram_api.hits(f"/bot{TOKEN}/getUpdates")
        return bool(hits) and json.loads(hits[-1].body).get("offset") == update_id + 1

    assert await eventually(lambda: polled_past(100))
    telegram_api.receive(101, "message", CHAT, "ship it")
    telegram_api.receive(102, "edited_message", CHAT, "edited")  # not a kind this trigger asked for
    telegram_api.receive(103, "message", CHAT, "and again")
    assert await eventually(lambda: polled_past(103))
    assert await eventually(ran) == [("and again", "message"), ("ship it", "message")]
    assert json.loads(telegram_api.hits(f"/bot{TOKEN}/getUpdates")[0].body)["allowed_updates"] == ["message"]


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("telegram")] == [
        "telegram.send_message",
        "telegram.send_document",
    ]


def test_a_malformed_token_is_refused_on_save_naming_the_field() -> None:
    model = INTEGRATIONS["telegram"].credentials_model
    assert model is not None
    with pytest.raises(ValueError, match="botToken"):
        model.model_validate({"botToken": "not a token"})
