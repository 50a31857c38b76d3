"""Microsoft 365 through Microsoft Graph (v1.0): send mail as the signed-in user, post in a Teams channel.

An OAuth2 connection through Microsoft Entra ID (the `microsoft` entry of core/oauth_providers.json, with
Mail.Send and ChannelMessage.Send; OAUTH_CLIENTS["microsoft_graph"] holds the client), refreshed by the
runtime. Graph answers errors as `{"error": {"code": "...", "message": "..."}}`: 401
(InvalidAuthenticationToken) means reconnect after one refresh, 429 and 503/504 are retried after their
Retry-After, other 4xx (ErrorInvalidRecipients, a team or channel the user is not in) are the user's to fix.
https://learn.microsoft.com/graph/api/overview
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, EmailStr, Field

from core.models import AuthType
from integrations.context import ActionContext
from integrations.sdk import Integration, OAuth2Credentials, RateLimit, provider_oauth2

graph = Integration(
    id="microsoft_graph",
    name="Microsoft 365 (Outlook, Teams)",
    description="Send Outlook mail and post Teams channel messages through Microsoft Graph",
    icon="/static/icons/microsoft_graph.svg",
    category="communication",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://learn.microsoft.com/graph/api/overview",
    website_url="https://www.microsoft.com/microsoft-365",
    oauth2=provider_oauth2("microsoft", ("offline_access", "User.Read", "Mail.Send", "ChannelMessage.Send")),
    base_url="https://graph.microsoft.com/v1.0",
    # Graph throttles per app and mailbox; Outlook allows 10,000 requests per 10 minutes per mailbox.
    rate_limit=RateLimit(100, 10),
    example="""An Outlook mail from the connected account, then a Teams post about it:

```json
{"id": "mail", "type": "action", "action": "microsoft_graph.send_mail",
 "input": {"to": ["{{ trigger.email }}"], "subject": "Your order {{ trigger.order }}",
           "body": "<p>It ships today.</p>", "content_type": "HTML"}}
```

```json
{"id": "post", "type": "action", "action": "microsoft_graph.send_channel_message",
 "input": {"team_id": "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b",
           "channel_id": "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2",
           "content": "Order {{ trigger.order }} confirmed by mail"}}
```
""",
)


graph.credentials_model = OAuth2Credentials


async def call(ctx: ActionContext, method: str, path: str, body: dict[str, Any]) -> Any:
    response = await ctx.request(method, path, headers=ctx.bearer(), json=body)
    return response.json() if response.content else None


async def test_connection(ctx: ActionContext) -> None:
    await ctx.request("GET", "me", headers=ctx.bearer())


graph.test = test_connection


def _recipients(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": address}} for address in addresses]


class SendMailInput(BaseModel):
    to: list[EmailStr] = Field(min_length=1, max_length=500, description="Recipients' addresses")
    cc: list[EmailStr] = Field(default_factory=list)
    bcc: list[EmailStr] = Field(default_factory=list)
    subject: str = Field(max_length=255)
    body: str = Field(description="The message (HTML or text, as content_type says)")
    content_type: Literal["HTML", "Text"] = "Text"
    reply_to: list[EmailStr] = Field(
        default_factory=list, description="Where replies go (default: the sender)"
    )
    save_to_sent_items: bool = Field(default=True, description="Keep a copy in Sent Items")


class SentOutput(BaseModel):
    sent: bool = Field(description="Graph accepted the message for delivery (202)")
    recipients: int


@graph.action(
    "send_mail", name="Send Mail", description="Send an Outlook mail as the connected user (/me/sendMail)"
)
async def send_mail(data: SendMailInput, ctx: ActionContext) -> SentOutput:
    message: dict[str, Any] = {
        "subject": data.subject,
        "body": {"contentType": data.content_type, "content": data.body},
        "toRecipients": _recipients(data.to),
    }
    for field, addresses in (
        ("ccRecipients", data.cc),
        ("bccRecipients", data.bcc),
        ("replyTo", data.reply_to),
    ):
        if addresses:
            message[field] = _recipients(addresses)
    await call(ctx, "POST", "me/sendMail", {"message": message, "saveToSentItems": data.save_to_sent_items})
    return SentOutput(sent=True, recipients=len(data.to) + len(data.cc) + len(data.bcc))


class ChannelMessageInput(BaseModel):
    team_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="The team's id (a GUID: Teams -> Get link to team -> groupId)",
    )
    channel_id: str = Field(
        pattern=r"^19:[A-Za-z0-9_.-]+@thread\.(tacv2|skype)$",
        description="The channel's id (19:...@thread.tacv2)",
    )
    content: str = Field(min_length=1, description="The message")
    content_type: Literal["html", "text"] = "html"
    subject: str | None = Field(default=None, description="A subject line (a new post, not a reply)")
    reply_to: str | None = Field(
        default=None, pattern=r"^\d{1,20}$", description="Reply in this message's thread"
    )


class ChannelMessageOutput(BaseModel):
    id: str
    createdDateTime: str | None = None  # noqa: N815
    webUrl: str | None = None  # noqa: N815


@graph.action(
    "send_channel_message",
    name="Send Teams Channel Message",
    description="Post in a Teams channel, or reply in a message's thread, as the connected user",
)
async def send_channel_message(data: ChannelMessageInput, ctx: ActionContext) -> ChannelMessageOutput:
    path = f"teams/{data.team_id}/channels/{quote(data.channel_id, safe=':@')}/messages"
    if data.reply_to:
        path += f"/{data.reply_to}/replies"
    body: dict[str, Any] = {"body": {"contentType": data.content_type, "content": data.content}}
    if data.subject and not data.reply_to:
        body["subject"] = data.subject
    answer = await call(ctx, "POST", path, body)
    return ChannelMessageOutput.model_validate({k: answer.get(k) for k in ChannelMessageOutput.model_fields})
