"""Email attachments as files (core.files), for the SMTP/IMAP and Gmail integrations: files attached to a
message being sent, and a received message's attachments kept as files of the run.

A MIME message is built and parsed whole (the standard library's email package, aiosmtplib and Gmail's
`raw` field all take it at once), so attachments are bounded: MAX_ATTACHMENT_BYTES in all per message,
the limit most providers apply (Gmail: 25 MB)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from core.files import FileRef
from integrations.context import ActionContext, ActionError
from integrations.http_files import file_limit

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


async def attach_files(
    ctx: ActionContext, message: EmailMessage, refs: list[FileRef], path: str = "attachments"
) -> None:
    """Adds each file as an attachment (its kept name and type); ActionError past MAX_ATTACHMENT_BYTES."""
    total = 0
    for index, ref in enumerate(refs):
        where = f"{path}[{index}]"
        kept = await ctx.kept_file(ref, where)
        total += kept.size
        if total > MAX_ATTACHMENT_BYTES:
            raise ActionError(
                f"{where}: the attachments come to more than {MAX_ATTACHMENT_BYTES} bytes, more than mail "
                "servers accept; send a link instead",
                type="FileTooLarge",
                retryable=False,
            )
        data = await ctx.read_file(kept, MAX_ATTACHMENT_BYTES, where)
        maintype, _, subtype = kept.content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=kept.name)


async def keep_attachments(ctx: ActionContext, message: Any) -> list[FileRef]:
    """A parsed message's attachments (email.policy.default), each kept as a file of the run."""
    kept = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True) or b""
        kept.append(
            await ctx.store_file(
                data,
                name=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                max_bytes=file_limit(ctx),
            )
        )
    return kept
