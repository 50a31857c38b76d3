"""Telegram (Bot API): send messages and documents, and a trigger on the updates the bot receives.

A bot token from @BotFather authenticates; it is part of every URL (`/bot<token>/<method>`), so errors
that quote the URL have it blanked out. The Bot API answers `{"ok": false, "error_code": N,
"description": "..."}` with the same HTTP status: 401 (and 404, which a malformed token gets) means
reconnect, 429 carries `parameters.retry_after`, 5xx are Telegram's own outages; every other failure
(400 "chat not found", 403 "bot was blocked by the user") is the user's to fix and not retried.
https://core.telegram.org/bots/api
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.files import FileRef
from core.models import AuthType, TriggerType
from integrations import http_files
from integrations.context import ActionContext, ActionError, auth_failed, hiding
from integrations.sdk import Integration, PolledItem, PollResult, RateLimit

telegram = Integration(
    id="telegram",
    name="Telegram",
    description="Send messages and documents from a Telegram bot, and react to what it receives",
    icon="/static/icons/telegram.svg",
    category="communication",
    auth_type=AuthType.API_KEY,
    is_popular=True,
    docs_url="https://core.telegram.org/bots/api",
    website_url="https://telegram.org",
    base_url="https://api.telegram.org",
    # Telegram lets a bot send about 30 messages a second overall (and one a second to one chat).
    rate_limit=RateLimit(30, 1),
    example="""A message to a chat, then a file (a webhook's upload, a download) as a document in reply to it:

```json
{"id": "notify", "type": "action", "action": "telegram.send_message",
 "input": {"chat_id": "-1001234567890", "text": "New order *{{ trigger.order_id }}*",
           "parse_mode": "MarkdownV2"}}
```

```json
{"id": "invoice", "type": "action", "action": "telegram.send_document",
 "input": {"chat_id": "-1001234567890", "document": "{{ trigger.files[0] }}", "caption": "The invoice",
           "reply_to_message_id": 42}}
```
""",
)


class TelegramCredentials(BaseModel):
    botToken: str = Field(  # noqa: N815
        min_length=1,
        pattern=r"^\d+:[A-Za-z0-9_-]+$",
        description="The bot's token from @BotFather (123456789:AA...)",
    )
    baseUrl: str | None = Field(  # noqa: N815
        default=None, description="A local Bot API server (https://HOST) instead of api.telegram.org"
    )


telegram.credentials_model = TelegramCredentials

RECONNECT_STATUSES = frozenset({401, 404})  # 404: a token Telegram does not recognise at all


async def call(ctx: ActionContext, method: str, **kwargs: Any) -> Any:
    """One Bot API method; its `result`, or an ActionError (never with the token in it)."""
    token = ctx.secret("botToken")
    try:
        response = await ctx.request("POST", f"bot{token}/{method}", check_status=False, **kwargs)
    except ActionError as exc:
        raise hiding(exc, token) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ActionError(
            f"Telegram {method} answered HTTP {response.status_code} without a Bot API body",
            type=f"HTTP{response.status_code}",
            retryable=response.status_code >= 500,
        )
    if body.get("ok"):
        return body.get("result")
    code = int(body.get("error_code") or response.status_code)
    description = str(body.get("description") or "unknown error")
    if code in RECONNECT_STATUSES:
        raise auth_failed("Telegram", description)
    parameters = body.get("parameters") or {}
    retry_after = parameters.get("retry_after")
    raise ActionError(
        f"Telegram {method} failed: {description}",
        type=f"Telegram.{code}",
        retryable=code == 429 or code >= 500,
        retry_after=float(retry_after) if retry_after is not None else None,
        details={"error_code": code, "description": description, "parameters": parameters},
    )


async def test_connection(ctx: ActionContext) -> None:
    await call(ctx, "getMe")


telegram.test = test_connection

ParseMode = Literal["MarkdownV2", "HTML", "Markdown"]
CHAT_ID = Field(description="The chat's id (a number; groups' are negative) or @channelusername")


class SendMessageInput(BaseModel):
    chat_id: int | str = CHAT_ID
    text: str = Field(min_length=1, max_length=4096, description="The message (1-4096 characters)")
    parse_mode: ParseMode | None = Field(default=None, description="How `text` is formatted")
    disable_notification: bool | None = Field(default=None, description="Send it silently")
    reply_to_message_id: int | None = Field(default=None, description="Send it as a reply to this message")
    message_thread_id: int | None = Field(default=None, description="The forum topic to post in")
    reply_markup: dict[str, Any] | None = Field(
        default=None, description="An inline keyboard or reply keyboard, as the Bot API takes it"
    )


class MessageOutput(BaseModel):
    message_id: int
    chat_id: int | str = Field(description="The chat the message is in")
    date: int = Field(description="When it was sent (Unix time)")
    text: str | None = None
    document: dict[str, Any] | None = Field(default=None, description="The sent document (file_id...)")


def _sent(message: dict[str, Any]) -> MessageOutput:
    return MessageOutput(
        message_id=message["message_id"],
        chat_id=(message.get("chat") or {}).get("id", ""),
        date=message.get("date", 0),
        text=message.get("text") or message.get("caption"),
        document=message.get("document"),
    )


def _reply(data: BaseModel, *exclude: str) -> dict[str, Any]:
    """The Bot API fields of `data`; `reply_to_message_id` as the `reply_parameters` it stands for."""
    fields = data.model_dump(exclude_none=True, exclude={"reply_to_message_id", *exclude})
    reply_to = getattr(data, "reply_to_message_id", None)
    if reply_to is not None:
        fields["reply_parameters"] = {"message_id": reply_to}
    return fields


@telegram.action("send_message", name="Send Message", description="Send a text message to a chat")
async def send_message(data: SendMessageInput, ctx: ActionContext) -> MessageOutput:
    return _sent(await call(ctx, "sendMessage", json=_reply(data)))


class SendDocumentInput(BaseModel):
    chat_id: int | str = CHAT_ID
    document: FileRef = Field(description="The file to send (a FileRef: trigger.files[0], a download's file)")
    caption: str | None = Field(default=None, max_length=1024, description="Its caption (0-1024 characters)")
    parse_mode: ParseMode | None = Field(default=None, description="How `caption` is formatted")
    disable_notification: bool | None = None
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None


@telegram.action(
    "send_document", name="Send Document", description="Send a file to a chat (up to 50 MB, as a document)"
)
async def send_document(data: SendDocumentInput, ctx: ActionContext) -> MessageOutput:
    # multipart: numbers and objects (reply_parameters) go as their JSON text, as the Bot API reads them
    fields: dict[str, Any] = {**_reply(data, "document"), "document": data.document}
    body = await http_files.multipart_body(ctx, fields, path="input")
    return _sent(await call(ctx, "sendDocument", content=body.chunks, headers=body.headers({})))


UpdateKind = Literal[
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query", "my_chat_member"
]


class NewUpdateConfig(BaseModel):
    allowed_updates: list[UpdateKind] = Field(
        default=["message"], min_length=1, description="Which kinds of update start a run"
    )


async def poll_updates(config: NewUpdateConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    """getUpdates from the offset after the last update seen (which also confirms the earlier ones to
    Telegram). A bot with a webhook set gets 409 here: delete the webhook to poll."""
    params: dict[str, Any] = {"timeout": 0, "limit": 100, "allowed_updates": list(config.allowed_updates)}
    if cursor.get("offset"):
        params["offset"] = cursor["offset"]
    updates: list[dict[str, Any]] = await call(ctx, "getUpdates", json=params) or []
    updates.sort(key=lambda u: int(u["update_id"]))
    items = []
    for update in updates:
        kind = next((k for k in config.allowed_updates if k in update), None)
        if kind is not None:
            data = {**update[kind], "update_kind": kind, "update_id": update["update_id"]}
            items.append(PolledItem(id=str(update["update_id"]), data=data))
    offset = max([int(u["update_id"]) + 1 for u in updates] + [int(cursor.get("offset") or 0)])
    return PollResult(items=items, cursor={"offset": offset} if offset else {})


telegram.trigger(
    "new_update",
    name="New Update",
    description="Triggers on each message (or other update kind) the bot receives, by polling getUpdates",
    trigger_type=TriggerType.POLLING,
    config_model=NewUpdateConfig,
    polling_interval=30,
    poll=poll_updates,
)
