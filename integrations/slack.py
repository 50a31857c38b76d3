"""Slack (Web API): post and edit messages, and a trigger on new messages in a channel.

Slack answers HTTP 200 with `{"ok": false, "error": "..."}` for most failures, so `call` reads that field:
token errors mean reconnect, `ratelimited` and Slack's own outages are retried, anything else is the
user's to fix. https://api.slack.com/web#responses
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.files import FileRef
from core.models import AuthType, TriggerType
from integrations import http_files
from integrations.context import ActionContext, ActionError, auth_failed
from integrations.sdk import Integration, OAuth2, PolledItem, PollResult, RateLimit

slack = Integration(
    id="slack",
    name="Slack",
    description="Send messages to Slack channels and react to new ones",
    icon="/static/icons/slack.svg",
    category="communication",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://api.slack.com/web",
    website_url="https://slack.com",
    oauth2=OAuth2(
        authorize_url="https://slack.com/oauth/v2/authorize",
        token_url="https://slack.com/api/oauth.v2.access",
        scopes=("chat:write", "channels:read", "channels:history", "files:write"),
        pkce=False,
        scope_separator=",",
    ),
    base_url="https://slack.com/api",
    # Slack's Tier 3 (chat.update, conversations.history) allows ~50 calls a minute per workspace.
    rate_limit=RateLimit(50, 60),
    example="""A file (a webhook's upload, a download, an attachment) shared in a channel by `upload_file`:

```json
{"id": "share", "type": "action", "action": "slack.upload_file",
 "input": {"file": "{{ trigger.files[0] }}", "channel_id": "C0123456789",
           "initial_comment": "Signed contract"}}
```
""",
)

AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope"}
)
PASSING_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackCredentials(BaseModel):
    """An OAuth2 connection, or a bot token (`xoxb-...`) pasted by hand."""

    model_config = ConfigDict(extra="allow")
    accessToken: str = Field(min_length=1, description="Bot token (xoxb-...)")  # noqa: N815
    baseUrl: str | None = Field(default=None, description="Another Slack API host (GovSlack, a test server)")  # noqa: N815


slack.credentials_model = SlackCredentials


async def call(
    ctx: ActionContext,
    method: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One Web API method; `{"ok": false}` answers become ActionErrors. `form`: the methods that take no
    JSON body (files.getUploadURLExternal)."""
    verb = "GET" if json is None and form is None else "POST"
    response = await ctx.request(verb, method, params=params, json=json, data=form, headers=ctx.bearer())
    body: dict[str, Any] = response.json()
    if body.get("ok"):
        return body
    error = str(body.get("error", "unknown_error"))
    if error in AUTH_ERRORS:
        raise auth_failed("Slack", error)
    raise ActionError(
        f"Slack {method} failed: {error}",
        type=f"Slack.{error}",
        retryable=error in PASSING_ERRORS,
        details={"error": error, "needed": body.get("needed")},
    )


async def test_connection(ctx: ActionContext) -> None:
    await call(ctx, "auth.test", json={})


slack.test = test_connection


class SendMessageInput(BaseModel):
    channel: str = Field(description="Channel id or name, e.g. #general", examples=["#general"])
    text: str = Field(description="Message text (mrkdwn); the notification fallback when blocks are given")
    blocks: list[dict[str, Any]] | None = Field(default=None, description="Block Kit blocks")
    thread_ts: str | None = Field(default=None, description="Reply in this thread")
    unfurl_links: bool | None = None


class MessageOutput(BaseModel):
    ok: bool
    channel: str
    ts: str
    text: str | None = None


@slack.action("send_message", name="Send Message", description="Post a message to a channel or a thread")
async def send_message(data: SendMessageInput, ctx: ActionContext) -> MessageOutput:
    body = await call(ctx, "chat.postMessage", json=data.model_dump(exclude_none=True))
    return MessageOutput(
        ok=True, channel=body["channel"], ts=body["ts"], text=(body.get("message") or {}).get("text")
    )


class UpdateMessageInput(BaseModel):
    channel: str = Field(description="The channel id of the message (as send_message returned it)")
    ts: str = Field(description="The message's timestamp (as send_message returned it)")
    text: str
    blocks: list[dict[str, Any]] | None = None


@slack.action("update_message", name="Update Message", description="Edit a message the app posted")
async def update_message(data: UpdateMessageInput, ctx: ActionContext) -> MessageOutput:
    body = await call(ctx, "chat.update", json=data.model_dump(exclude_none=True))
    return MessageOutput(ok=True, channel=body["channel"], ts=body["ts"], text=body.get("text"))


class UploadFileInput(BaseModel):
    file: FileRef = Field(description="The file to upload (a FileRef: trigger.files[0], a download's file)")
    channel_id: str | None = Field(
        default=None, description="Channel id (C...) to share it in; without one the file stays private"
    )
    title: str | None = Field(default=None, description="Its title in Slack (default: its name)")
    initial_comment: str | None = Field(default=None, description="The message introducing the file")
    thread_ts: str | None = Field(default=None, description="Share it as a reply in this thread")
    alt_text: str | None = Field(default=None, description="A description of an image, for screen readers")


class UploadFileOutput(BaseModel):
    ok: bool
    file_id: str = Field(description="Slack's id of the file (F...)")
    files: list[dict[str, Any]] = Field(default_factory=list, description="What Slack says of it")


@slack.action(
    "upload_file",
    name="Upload File",
    description="Upload a file and share it in a channel (files.getUploadURLExternal, then "
    "files.completeUploadExternal)",
)
async def upload_file(data: UploadFileInput, ctx: ActionContext) -> UploadFileOutput:
    """Slack's current upload flow (https://api.slack.com/messaging/files#uploading_files): ask for an upload
    URL for the file's name and length, send the bytes there (streamed from the store; the URL is signed,
    so no token goes with them), then complete the upload, sharing it where asked."""
    body = await http_files.raw_file_body(ctx, data.file)
    form = {"filename": data.file.name, "length": str(body.length)}
    if data.alt_text:
        form["alt_txt"] = data.alt_text
    ticket = await call(ctx, "files.getUploadURLExternal", form=form)
    await ctx.request("POST", str(ticket["upload_url"]), content=body.chunks, headers=body.headers({}))
    share: dict[str, Any] = {"files": [{"id": ticket["file_id"], "title": data.title or data.file.name}]}
    share.update(data.model_dump(include={"channel_id", "initial_comment", "thread_ts"}, exclude_none=True))
    done = await call(ctx, "files.completeUploadExternal", json=share)
    return UploadFileOutput(ok=True, file_id=str(ticket["file_id"]), files=done.get("files") or [])


class NewMessageConfig(BaseModel):
    channel: str = Field(description="Channel id (C...) to watch")
    include_bots: bool = Field(default=False, description="Also fire on messages posted by bots")


async def poll_messages(config: NewMessageConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    params: dict[str, Any] = {"channel": config.channel, "limit": 100}
    if cursor.get("oldest"):
        params["oldest"] = cursor["oldest"]
    body = await call(ctx, "conversations.history", params=params)
    messages = [
        m
        for m in body.get("messages", [])
        if m.get("type") == "message" and (config.include_bots or not m.get("bot_id"))
    ]
    messages.sort(key=lambda m: float(m["ts"]))  # Slack answers newest first
    newest = max([float(m["ts"]) for m in body.get("messages", [])] + [float(cursor.get("oldest") or 0)])
    return PollResult(
        items=[PolledItem(id=m["ts"], data={**m, "channel": config.channel}) for m in messages],
        cursor={"oldest": f"{newest:.6f}"} if newest else {},
    )


slack.trigger(
    "new_message",
    name="New Message",
    description="Triggers when a message is posted in a channel",
    trigger_type=TriggerType.POLLING,
    config_model=NewMessageConfig,
    polling_interval=60,
    poll=poll_messages,
)
