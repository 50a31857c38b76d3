"""Discord: post through a channel webhook, or as a bot in a channel (REST API v10).

A connection holds a bot token (`Authorization: Bot ...`), a webhook URL (whose last segment is its
token), or both. Discord answers errors as `{"code": N, "message": "..."}`: 401 means reconnect, 429 is
retried after its Retry-After, 5xx are Discord's outages, any other 4xx (50001 Missing Access, 10003
Unknown Channel, 50035 Invalid Form Body) is the user's to fix. A bot message carries the step's
idempotency key as an enforced `nonce`, so a retried step whose first attempt did post is not posted twice.
https://discord.com/developers/docs/reference
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from core.models import AuthType
from integrations.context import ActionContext, ActionError, hiding
from integrations.sdk import Integration, RateLimit

discord = Integration(
    id="discord",
    name="Discord",
    description="Post messages to Discord channels through a webhook or as a bot",
    icon="/static/icons/discord.svg",
    category="communication",
    auth_type=AuthType.API_KEY,
    is_popular=True,
    docs_url="https://discord.com/developers/docs/reference",
    website_url="https://discord.com",
    base_url="https://discord.com/api/v10",
    # A webhook takes about 5 requests every 2 seconds (and a bot 5 messages every 5 s in one channel).
    rate_limit=RateLimit(5, 2),
    example="""A webhook post with an embed, then the bot's reply to it in the same channel:

```json
{"id": "alert", "type": "action", "action": "discord.execute_webhook",
 "input": {"content": "Build {{ trigger.build }} failed", "username": "CI",
           "embeds": [{"title": "Logs", "url": "{{ trigger.logs_url }}", "color": 15158332}]}}
```

```json
{"id": "follow_up", "type": "action", "action": "discord.send_message",
 "input": {"channel_id": "{{ steps.alert.output.channel_id }}", "content": "Looking into it",
           "reply_to": "{{ steps.alert.output.id }}"}}
```
""",
)

WEBHOOK_URL = r"^https?://[^\s?#]+/api(/v\d+)?/webhooks/\d+/[A-Za-z0-9_-]+$"
SNOWFLAKE = r"^\d{1,20}$"


class DiscordCredentials(BaseModel):
    botToken: str | None = Field(  # noqa: N815
        default=None, min_length=1, description="A bot's token (Developer Portal -> Bot), for send_message"
    )
    webhookUrl: str | None = Field(  # noqa: N815
        default=None,
        pattern=WEBHOOK_URL,
        description="A channel webhook's URL (https://discord.com/api/webhooks/ID/TOKEN), for "
        "execute_webhook",
    )
    baseUrl: str | None = Field(default=None, description="Another API address (a test server)")  # noqa: N815

    @model_validator(mode="after")
    def either(self) -> Self:
        if not self.botToken and not self.webhookUrl:
            raise ValueError("a Discord connection needs botToken or webhookUrl (or both)")
        return self


discord.credentials_model = DiscordCredentials


async def call(ctx: ActionContext, method: str, path: str, *, secret: str, **kwargs: Any) -> Any:
    """One REST call; its JSON answer (None for 204). `secret`: the token to keep out of error messages."""
    try:
        response = await ctx.request(method, path, **kwargs)
    except ActionError as exc:
        raise hiding(exc, secret) from None
    return response.json() if response.content else None


def _bot(ctx: ActionContext) -> tuple[dict[str, str], str]:
    token = ctx.secret("botToken")
    return {"Authorization": f"Bot {token}"}, token


def _webhook(ctx: ActionContext) -> tuple[str, str]:
    url = ctx.secret("webhookUrl")
    return url, url.rsplit("/", 1)[-1]


async def test_connection(ctx: ActionContext) -> None:
    if ctx.credentials.get("botToken"):
        headers, token = _bot(ctx)
        await call(ctx, "GET", "users/@me", secret=token, headers=headers)
    if ctx.credentials.get("webhookUrl"):
        url, token = _webhook(ctx)
        await call(ctx, "GET", url, secret=token)


discord.test = test_connection


class MessageFields(BaseModel):
    content: str | None = Field(default=None, max_length=2000, description="The text (up to 2000 characters)")
    embeds: list[dict[str, Any]] | None = Field(
        default=None, max_length=10, description="Up to 10 rich embeds (title, description, url, color...)"
    )
    tts: bool | None = Field(default=None, description="Read it aloud")
    allowed_mentions: dict[str, Any] | None = Field(
        default=None, description='Which mentions notify (e.g. {"parse": []}: none)'
    )

    @model_validator(mode="after")
    def not_empty(self) -> Self:
        if not self.content and not self.embeds:
            raise ValueError("a message needs content or embeds")
        return self


class MessageOutput(BaseModel):
    id: str = Field(description="The message's id")
    channel_id: str
    content: str = ""
    timestamp: str | None = None
    embeds: list[dict[str, Any]] = Field(default_factory=list)


def _message(body: dict[str, Any]) -> MessageOutput:
    return MessageOutput.model_validate({k: body[k] for k in MessageOutput.model_fields if k in body})


class ExecuteWebhookInput(MessageFields):
    username: str | None = Field(default=None, max_length=80, description="Post under this name")
    avatar_url: str | None = Field(default=None, description="Post with this avatar")
    thread_id: str | None = Field(default=None, pattern=SNOWFLAKE, description="Post in this thread")
    thread_name: str | None = Field(
        default=None, max_length=100, description="A forum channel's webhook: the new post's title"
    )


@discord.action(
    "execute_webhook",
    name="Send via Webhook",
    description="Post a message through the connection's channel webhook",
)
async def execute_webhook(data: ExecuteWebhookInput, ctx: ActionContext) -> MessageOutput:
    url, token = _webhook(ctx)
    params = {"wait": "true"}  # answer the message rather than 204
    if data.thread_id:
        params["thread_id"] = data.thread_id
    body = data.model_dump(exclude_none=True, exclude={"thread_id"})
    return _message(await call(ctx, "POST", url, secret=token, params=params, json=body))


class SendMessageInput(MessageFields):
    channel_id: str = Field(pattern=SNOWFLAKE, description="The channel's id (Developer Mode -> Copy ID)")
    reply_to: str | None = Field(default=None, pattern=SNOWFLAKE, description="Reply to this message's id")


@discord.action("send_message", name="Send Message", description="Post a message in a channel as the bot")
async def send_message(data: SendMessageInput, ctx: ActionContext) -> MessageOutput:
    headers, token = _bot(ctx)
    body: dict[str, Any] = data.model_dump(exclude_none=True, exclude={"channel_id", "reply_to"})
    if data.reply_to:
        body["message_reference"] = {"message_id": data.reply_to, "fail_if_not_exists": False}
    if ctx.idempotency_key:  # Discord keeps a nonce a few minutes; it takes up to 25 characters
        body.update(nonce=ctx.idempotency_key.replace("-", "")[:25], enforce_nonce=True)
    path = f"channels/{data.channel_id}/messages"
    return _message(await call(ctx, "POST", path, secret=token, headers=headers, json=body))
