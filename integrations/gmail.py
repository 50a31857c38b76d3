"""Gmail (Gmail API v1): send an email, and a trigger on new emails (the seed's own example integration).

Messages are built with the standard library's `email.message.EmailMessage` (RFC 5322/2045 headers,
encodings and multipart alternatives done right) and sent base64url-encoded as the API's `raw` field.
The Message-ID comes from the step's idempotency key: a retried step sends the same Message-ID, which
Gmail threads and de-duplicates as one message. https://developers.google.com/gmail/api/reference/rest
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.files import FileRef
from core.models import AuthType, TriggerType
from integrations.attachments import attach_files
from integrations.context import ActionContext
from integrations.http_files import file_limit
from integrations.sdk import Integration, OAuth2, PolledItem, PollResult, RateLimit

gmail = Integration(
    id="gmail",
    name="Gmail",
    description="Send and receive emails",
    icon="/static/icons/gmail.svg",
    category="communication",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://developers.google.com/gmail/api",
    website_url="https://mail.google.com",
    oauth2=OAuth2(
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scopes=(
            "https://www.googleapis.com/auth/gmail.send",
            "https://www.googleapis.com/auth/gmail.readonly",
        ),
        extra_authorize_params=(("access_type", "offline"), ("prompt", "consent")),
    ),
    base_url="https://gmail.googleapis.com",
    rate_limit=RateLimit(250, 60),
    example="""A `new_email` run keeps the message's attachments as files and mails them on:

```json
{"id": "attachments", "type": "action", "action": "gmail.get_attachments",
 "input": {"messageId": "{{ trigger.id }}"}}
```

```json
{"id": "forward", "type": "action", "action": "gmail.send_email",
 "input": {"to": "accounts@example.com", "subject": "Fwd: {{ trigger.subject }}", "body": "Attached.",
           "attachments": "{{ steps.attachments.output.attachments }}"}}
```
""",
)
MESSAGES = "gmail/v1/users/me/messages"


class GmailCredentials(BaseModel):
    model_config = ConfigDict(extra="allow")
    accessToken: str = Field(min_length=1)  # noqa: N815
    refreshToken: str | None = None  # noqa: N815
    baseUrl: str | None = None  # noqa: N815


gmail.credentials_model = GmailCredentials


async def test_connection(ctx: ActionContext) -> None:
    await ctx.request("GET", "gmail/v1/users/me/profile", headers=ctx.bearer())


gmail.test = test_connection


class SendEmailInput(BaseModel):
    to: str | list[str] = Field(
        description="Recipient address, or several", json_schema_extra={"format": "email"}
    )
    subject: str
    body: str = Field(description="Plain-text body")
    html: str | None = Field(default=None, description="HTML body (sent as an alternative to `body`)")
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    reply_to: str | None = Field(default=None, alias="replyTo")
    thread_id: str | None = Field(
        default=None, alias="threadId", description="Send as a reply in this thread"
    )
    attachments: list[FileRef] = Field(
        default_factory=list, description="Files to attach (FileRefs), 25 MB in all at most"
    )


class SendEmailOutput(BaseModel):
    messageId: str  # noqa: N815 - the seed's output field name
    threadId: str | None = None  # noqa: N815
    labelIds: list[str] = Field(default_factory=list)  # noqa: N815


def build_message(data: SendEmailInput, message_id: str | None) -> EmailMessage:
    message = EmailMessage()
    message["To"] = ", ".join(data.to) if isinstance(data.to, list) else data.to
    if data.cc:
        message["Cc"] = ", ".join(data.cc)
    if data.bcc:
        message["Bcc"] = ", ".join(data.bcc)
    if data.reply_to:
        message["Reply-To"] = data.reply_to
    message["Subject"] = data.subject
    message["Date"] = formatdate(localtime=False)
    if message_id:
        message["Message-ID"] = f"<{message_id}@baton.local>"
    message.set_content(data.body)
    if data.html:
        message.add_alternative(data.html, subtype="html")
    return message


@gmail.action("send_email", name="Send Email", description="Send an email via Gmail")
async def send_email(data: SendEmailInput, ctx: ActionContext) -> SendEmailOutput:
    message = build_message(data, ctx.idempotency_key)
    await attach_files(ctx, message, data.attachments)
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    payload: dict[str, Any] = {"raw": raw}
    if data.thread_id:
        payload["threadId"] = data.thread_id
    response = await ctx.request("POST", f"{MESSAGES}/send", json=payload, headers=ctx.bearer())
    body = response.json()
    return SendEmailOutput(
        messageId=body["id"], threadId=body.get("threadId"), labelIds=body.get("labelIds", [])
    )


class GetAttachmentsInput(BaseModel):
    message_id: str = Field(
        alias="messageId", description="The message's id (a new_email trigger's `trigger.id`)"
    )


class AttachmentsOutput(BaseModel):
    attachments: list[FileRef] = Field(description="The message's attachments, kept as files of the run")


def _attachment_parts(part: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of a Gmail message payload that are attachments (a file name and a body), at any depth."""
    found = [part] if part.get("filename") and part.get("body") else []
    for child in part.get("parts") or []:
        found += _attachment_parts(child)
    return found


@gmail.action(
    "get_attachments",
    name="Get Attachments",
    description="Keep a received email's attachments as files",
    side_effects=False,
)
async def get_attachments(data: GetAttachmentsInput, ctx: ActionContext) -> AttachmentsOutput:
    """messages.get (format full) lists the parts; each attachment's bytes come from
    messages.attachments.get (base64url), unless the part carries them inline."""
    message = (
        await ctx.request(
            "GET", f"{MESSAGES}/{data.message_id}", params={"format": "full"}, headers=ctx.bearer()
        )
    ).json()
    kept = []
    for part in _attachment_parts(message.get("payload") or {}):
        body = part["body"]
        encoded = body.get("data")
        if encoded is None and body.get("attachmentId"):
            url = f"{MESSAGES}/{data.message_id}/attachments/{body['attachmentId']}"
            encoded = (await ctx.request("GET", url, headers=ctx.bearer())).json().get("data")
        content = base64.urlsafe_b64decode((encoded or "") + "=" * (-len(encoded or "") % 4))
        kept.append(
            await ctx.store_file(
                content, name=part["filename"], content_type=part.get("mimeType"), max_bytes=file_limit(ctx)
            )
        )
    return AttachmentsOutput(attachments=kept)


class NewEmailConfig(BaseModel):
    label: str | None = Field(default=None, description="Only emails with this label (e.g. INBOX)")
    from_: str | None = Field(default=None, alias="from", description="Only emails from this sender")
    query: str | None = Field(default=None, description="More Gmail search terms, e.g. has:attachment")


HEADERS = ("From", "To", "Subject", "Date", "Message-ID")


async def poll_emails(config: NewEmailConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    terms = [t for t in (f"from:{config.from_}" if config.from_ else None, config.query) if t]
    params: dict[str, Any] = {"maxResults": 25}
    if terms:
        params["q"] = " ".join(terms)
    if config.label:
        params["labelIds"] = config.label
    listed = (await ctx.request("GET", MESSAGES, params=params, headers=ctx.bearer())).json()
    items: list[PolledItem] = []
    known = set(cursor.get("recent", []))
    for ref in listed.get("messages", []):
        if ref["id"] in known:
            continue  # seen by an earlier poll: no need to fetch it again
        message = (
            await ctx.request(
                "GET",
                f"{MESSAGES}/{ref['id']}",
                params=[("format", "metadata"), *(("metadataHeaders", h) for h in HEADERS)],
                headers=ctx.bearer(),
            )
        ).json()
        headers = {h["name"].lower(): h["value"] for h in message.get("payload", {}).get("headers", [])}
        items.append(
            PolledItem(
                id=message["id"],
                data={
                    "id": message["id"],
                    "threadId": message.get("threadId"),
                    "labelIds": message.get("labelIds", []),
                    "snippet": message.get("snippet", ""),
                    "from": headers.get("from"),
                    "to": headers.get("to"),
                    "subject": headers.get("subject"),
                    "date": headers.get("date"),
                    "internalDate": message.get("internalDate"),
                },
            )
        )
    items.sort(key=lambda i: int(i.data.get("internalDate") or 0))  # Gmail lists newest first
    recent = [ref["id"] for ref in listed.get("messages", [])]
    return PollResult(items=items, cursor={"recent": recent})


gmail.trigger(
    "new_email",
    name="New Email",
    description="Triggers when a new email is received",
    trigger_type=TriggerType.POLLING,
    config_model=NewEmailConfig,
    polling_interval=300,
    poll=poll_emails,
)
