"""Email over the standard protocols: send with SMTP (aiosmtplib: STARTTLS, implicit TLS or plain), and a
trigger on new messages in an IMAP mailbox.

The IMAP trigger keeps the mailbox's UIDVALIDITY and the highest UID it has seen as its cursor (RFC 3501
2.3.1.1): UIDs only grow within one UIDVALIDITY, so `UID SEARCH UID n+1:*` finds exactly the new mail; a
changed UIDVALIDITY means the mailbox was rebuilt and the trigger takes a new baseline. The standard
library's imaplib speaks IMAP; it blocks, so it runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import imaplib
import re
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any, Literal

import aiosmtplib
from pydantic import BaseModel, Field

from core.files import FileRef
from core.models import AuthType, TriggerType
from core.outbound import pinned_tls
from integrations.attachments import attach_files, keep_attachments
from integrations.context import ActionContext, ActionError, auth_failed
from integrations.sdk import Integration, PolledItem, PollResult

mail = Integration(
    id="email",
    name="Email (SMTP/IMAP)",
    description="Send email through any SMTP server, and react to new mail in an IMAP mailbox",
    icon="/static/icons/email.svg",
    category="communication",
    auth_type=AuthType.BASIC,
    docs_url="https://www.rfc-editor.org/rfc/rfc3501",
    website_url="https://en.wikipedia.org/wiki/Email",
    example="""Attachments are files (docs/definition.md, "Files"): a `new_email` run keeps the message's
attachments with `get_attachments` and sends them on with `send`:

```json
{"id": "attachments", "type": "action", "action": "email.get_attachments",
 "input": {"uid": "{{ trigger.uid }}"}}
```

```json
{"id": "forward", "type": "action", "action": "email.send",
 "input": {"to": "accounts@example.com", "subject": "Fwd: {{ trigger.subject }}", "text": "Attached.",
           "attachments": "{{ steps.attachments.output.attachments }}"}}
```
""",
)
Security = Literal["starttls", "ssl", "none"]
MAX_TEXT = 50_000
MAX_MESSAGES_PER_POLL = 50


class EmailCredentials(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    from_address: str | None = Field(default=None, alias="fromAddress", description="Defaults to username")
    smtp_host: str | None = Field(default=None, alias="smtpHost", examples=["smtp.fastmail.com"])
    smtp_port: int = Field(default=587, alias="smtpPort")
    smtp_security: Security = Field(default="starttls", alias="smtpSecurity")
    imap_host: str | None = Field(default=None, alias="imapHost", examples=["imap.fastmail.com"])
    imap_port: int = Field(default=993, alias="imapPort")
    imap_security: Security = Field(default="ssl", alias="imapSecurity")


mail.credentials_model = EmailCredentials


def credentials_of(ctx: ActionContext) -> EmailCredentials:
    try:
        return EmailCredentials.model_validate(ctx.credentials)
    except ValueError as exc:
        raise ActionError(
            f"the email connection is incomplete: {exc}", type="InvalidCredentials", retryable=False
        ) from exc


class SendInput(BaseModel):
    to: str | list[str]
    subject: str
    text: str = Field(description="Plain-text body")
    html: str | None = Field(default=None, description="HTML body (an alternative to `text`)")
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    reply_to: str | None = Field(default=None, alias="replyTo")
    from_: str | None = Field(default=None, alias="from", description="Defaults to the connection's address")
    attachments: list[FileRef] = Field(
        default_factory=list, description="Files to attach (FileRefs), 25 MB in all at most"
    )


class SendOutput(BaseModel):
    messageId: str  # noqa: N815
    accepted: list[str]
    rejected: list[str]


@mail.action("send", name="Send Email", description="Send an email through the connection's SMTP server")
async def send(data: SendInput, ctx: ActionContext) -> SendOutput:
    creds = credentials_of(ctx)
    if not creds.smtp_host:
        raise ActionError("the email connection has no smtpHost", type="InvalidCredentials", retryable=False)
    message = EmailMessage()
    message["From"] = data.from_ or creds.from_address or creds.username
    message["To"] = ", ".join(data.to) if isinstance(data.to, list) else data.to
    if data.cc:
        message["Cc"] = ", ".join(data.cc)
    if data.reply_to:
        message["Reply-To"] = data.reply_to
    message["Subject"] = data.subject
    message["Date"] = formatdate()
    # Stable across retries of the step: receiving servers and clients treat repeats as one message.
    message_id = f"<{ctx.idempotency_key or make_msgid().strip('<>')}@baton.local>"
    message["Message-ID"] = message_id
    message.set_content(data.text)
    if data.html:
        message.add_alternative(data.html, subtype="html")
    await attach_files(ctx, message, data.attachments)
    recipients = [a for _, a in getaddresses([message["To"], *data.cc, *data.bcc]) if a]
    address = (await ctx.resolve(creds.smtp_host, creds.smtp_port))[0]
    try:
        errors, _ = await aiosmtplib.send(
            message,
            recipients=recipients,
            username=creds.username,
            password=creds.password,
            timeout=30,
            **_smtp_target(creds, address),
        )
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise auth_failed("The SMTP server", f"{exc.code} {exc.message}") from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise ActionError(
            f"the SMTP server refused every recipient: {exc}", type="SMTP.RecipientsRefused", retryable=False
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        # 4xx replies are transient by definition (RFC 5321 4.2.1); 5xx are permanent.
        raise ActionError(
            f"SMTP {exc.code}: {exc.message}", type=f"SMTP{exc.code}", retryable=400 <= exc.code < 500
        ) from exc
    except ssl.SSLError as exc:
        raise ActionError(f"the SMTP server's TLS failed ({exc.reason})", type="TLSError") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ActionError(f"the SMTP server is unreachable: {exc}", type="ConnectionError") from exc
    rejected = sorted(errors)
    return SendOutput(
        messageId=message_id, accepted=[r for r in recipients if r not in errors], rejected=rejected
    )


class NewEmailConfig(BaseModel):
    mailbox: str = Field(default="INBOX", description="The folder to watch")
    from_: str | None = Field(default=None, alias="from", description="Only mail whose From contains this")


def _smtp_target(creds: EmailCredentials, address: str) -> dict[str, Any]:
    """aiosmtplib's arguments for a connection to the checked `address` of the connection's SMTP host
    (TLS verifies the host's name, not the address)."""
    assert creds.smtp_host
    secure = creds.smtp_security != "none"
    return {
        "hostname": address,
        "port": creds.smtp_port,
        "use_tls": creds.smtp_security == "ssl",
        "start_tls": creds.smtp_security == "starttls",
        "tls_context": pinned_tls(creds.smtp_host) if secure else None,
    }


async def _imap_address(creds: EmailCredentials, ctx: ActionContext) -> str:
    if not creds.imap_host:
        raise ActionError("the email connection has no imapHost", type="InvalidCredentials", retryable=False)
    return (await ctx.resolve(creds.imap_host, creds.imap_port))[0]


def _imap(creds: EmailCredentials, address: str) -> imaplib.IMAP4:
    """A logged-in IMAP client connected to the checked `address` of the connection's IMAP host."""
    assert creds.imap_host
    try:
        if creds.imap_security == "ssl":
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                address, creds.imap_port, ssl_context=pinned_tls(creds.imap_host), timeout=30
            )
        else:
            client = imaplib.IMAP4(address, creds.imap_port, timeout=30)
            if creds.imap_security == "starttls":
                client.starttls(pinned_tls(creds.imap_host))
    except ssl.SSLError as exc:
        raise ActionError(f"the IMAP server's TLS failed ({exc.reason})", type="TLSError") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ActionError(f"the IMAP server is unreachable: {exc}", type="ConnectionError") from exc
    try:
        client.login(creds.username, creds.password)
    except imaplib.IMAP4.error as exc:
        client.shutdown()
        raise auth_failed("The IMAP server", str(exc)) from exc
    return client


def _text_of(message: Any) -> tuple[str, str | None]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else None
    return text[:MAX_TEXT], html[:MAX_TEXT] if html else None


def _poll_mailbox(
    creds: EmailCredentials, address: str, config: NewEmailConfig, cursor: dict[str, Any]
) -> PollResult:
    with _selected(creds, address, config.mailbox, "InvalidConfig") as client:
        validity = int(_untagged(client, "UIDVALIDITY") or 0)
        last = int(cursor.get("lastUid", 0)) if cursor.get("uidValidity") == validity else 0
        _, found = client.uid("SEARCH", f"UID {last + 1}:*")
        # `n:*` always matches the highest UID, even below n: keep only the really new ones.
        uids = sorted(u for u in (int(x) for x in (found[0] or b"").split()) if u > last)
        if last == 0:
            uids = uids[-MAX_MESSAGES_PER_POLL:]  # a first poll (or a rebuilt mailbox): the newest only
        items: list[PolledItem] = []
        for uid in uids[:MAX_MESSAGES_PER_POLL]:
            raw = _raw_message(client, uid)
            if raw is None:
                continue
            message = BytesParser(policy=email.policy.default).parsebytes(raw)
            if config.from_ and config.from_.lower() not in str(message.get("From", "")).lower():
                continue
            text, html = _text_of(message)
            items.append(
                PolledItem(
                    id=f"{validity}:{uid}",
                    data={
                        "uid": uid,
                        "messageId": message.get("Message-ID"),
                        "from": message.get("From"),
                        "to": message.get("To"),
                        "subject": message.get("Subject"),
                        "date": message.get("Date"),
                        "text": text,
                        "html": html,
                        # what get_attachments keeps as files (by `uid`)
                        "attachments": [
                            {"name": part.get_filename(), "contentType": part.get_content_type()}
                            for part in message.iter_attachments()
                        ],
                    },
                )
            )
        newest = max([last, *uids[:MAX_MESSAGES_PER_POLL]])
        return PollResult(items=items, cursor={"uidValidity": validity, "lastUid": newest})


@contextlib.contextmanager
def _selected(creds: EmailCredentials, address: str, mailbox: str, missing: str) -> Iterator[imaplib.IMAP4]:
    """A logged-in client with `mailbox` selected read-only (ActionError of type `missing` when there is
    none), logged out after."""
    client = _imap(creds, address)
    try:
        status, _ = client.select(_quoted(mailbox), readonly=True)
        if status != "OK":
            raise ActionError(f"no mailbox {mailbox!r}", type=missing, retryable=False)
        yield client
    except imaplib.IMAP4.error as exc:
        raise ActionError(f"IMAP: {exc}", type="IMAPError") from exc
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _untagged(client: imaplib.IMAP4, name: str) -> str | None:
    _, data = client.response(name)
    value = data[0] if data else None
    if isinstance(value, bytes):
        value = value.decode()
    match = re.match(r"\d+", str(value)) if value is not None else None
    return match.group(0) if match else None


async def poll_mail(config: NewEmailConfig, ctx: ActionContext, cursor: dict[str, Any]) -> PollResult:
    creds = credentials_of(ctx)
    address = await _imap_address(creds, ctx)
    return await asyncio.to_thread(_poll_mailbox, creds, address, config, cursor)


mail.trigger(
    "new_email",
    name="New Email",
    description="Triggers when mail arrives in an IMAP mailbox",
    trigger_type=TriggerType.POLLING,
    config_model=NewEmailConfig,
    polling_interval=120,
    poll=poll_mail,
)


class GetAttachmentsInput(BaseModel):
    uid: int = Field(ge=1, description="The message's UID (a new_email trigger's `trigger.uid`)")
    mailbox: str = Field(default="INBOX", description="Its folder")


class AttachmentsOutput(BaseModel):
    attachments: list[FileRef] = Field(description="The message's attachments, kept as files of the run")


def _fetch_message(creds: EmailCredentials, address: str, mailbox: str, uid: int) -> bytes | None:
    with _selected(creds, address, mailbox, "InvalidInput") as client:
        return _raw_message(client, uid)


def _raw_message(client: imaplib.IMAP4, uid: int) -> bytes | None:
    """The whole message (leaving it unread: BODY.PEEK)."""
    _, parts = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    return next((p[1] for p in parts if isinstance(p, tuple)), None)


@mail.action(
    "get_attachments",
    name="Get Attachments",
    description="Keep a received message's attachments as files (by its IMAP UID)",
    side_effects=False,
)
async def get_attachments(data: GetAttachmentsInput, ctx: ActionContext) -> AttachmentsOutput:
    creds = credentials_of(ctx)
    address = await _imap_address(creds, ctx)
    raw = await asyncio.to_thread(_fetch_message, creds, address, data.mailbox, data.uid)
    if raw is None:
        raise ActionError(
            f"no message with UID {data.uid} in {data.mailbox!r}", type="NotFound", retryable=False
        )
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    return AttachmentsOutput(attachments=await keep_attachments(ctx, message))


async def test_connection(ctx: ActionContext) -> None:
    creds = credentials_of(ctx)
    if creds.smtp_host:
        address = (await ctx.resolve(creds.smtp_host, creds.smtp_port))[0]
        smtp = aiosmtplib.SMTP(timeout=15, **_smtp_target(creds, address))
        try:
            await smtp.connect()
            await smtp.login(creds.username, creds.password)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise auth_failed("The SMTP server", f"{exc.code} {exc.message}") from exc
        except ssl.SSLError as exc:
            raise ActionError(f"the SMTP server's TLS failed ({exc.reason})", type="TLSError") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ActionError(f"the SMTP server is unreachable: {exc}", type="ConnectionError") from exc
        finally:
            if smtp.is_connected:
                smtp.close()
    if creds.imap_host:
        client = await asyncio.to_thread(_imap, creds, await _imap_address(creds, ctx))
        await asyncio.to_thread(client.logout)


mail.test = test_connection
