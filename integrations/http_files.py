"""Files over HTTP, for `http.request` and the integrations that upload: a response downloaded as a file
(streamed into the blob store, never whole in memory) and request bodies made of files (the raw bytes of one
file, or multipart/form-data with text fields and file parts), streamed from the store with their length
declared (servers such as presigned upload URLs refuse chunked bodies).

Multipart bodies are written here rather than by httpx: httpx's `files=` reads sync file objects, and a
file here is an async stream from the blob store. The part headers follow RFC 7578 (a `filename` and, for
names outside ASCII in UTF-8, quotes and line breaks percent-encoded, as browsers send them)."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import unquote

import httpx

from core.files import FileRef, safe_name
from core.settings import Settings
from integrations.context import ActionContext

FILES_EXAMPLE = """**Files** (docs/definition.md, "Files"): `"responseFormat": "file"` keeps the answer as a
file, streamed to the blob store (`output.file`, a FileRef named by Content-Disposition or the URL); `file`
sends one as the raw body, `multipart` sends text fields and files as multipart/form-data:

```json
{"id": "report", "type": "action", "action": "http.request",
 "input": {"url": "https://reports.example.com/q3.pdf", "responseFormat": "file"}}
```

```json
{"id": "upload", "type": "action", "action": "http.request",
 "input": {"method": "POST", "url": "https://docs.example.com/api/documents",
           "multipart": {"title": "Q3 report", "document": "{{ steps.report.output.file }}"}}}
```
"""
DEFAULT_FILE_MAX_BYTES: int = Settings.model_fields["file_max_bytes"].default


def file_limit(ctx: ActionContext) -> int:
    return ctx.settings.file_max_bytes if ctx.settings is not None else DEFAULT_FILE_MAX_BYTES


def download_name(disposition: str | None, url: str, default: str = "download") -> str:
    """The file name a response gives (Content-Disposition's filename* or filename), else the URL's last
    path segment, made safe."""
    name = None
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        found = [v for k, v in message.get_params(header="content-disposition") or [] if k == "filename"]
        # RFC 6266: filename* (RFC 5987, decoded as a tuple) wins over the plain filename
        encoded = [v for v in found if isinstance(v, tuple)]
        name = collapse_rfc2231_value(encoded[0] if encoded else found[0]) if found else None
    if not name:
        name = unquote(httpx.URL(url).path.rsplit("/", 1)[-1])
    return safe_name(name, default)


async def store_response(ctx: ActionContext, response: httpx.Response, url: str) -> FileRef:
    """The streamed response's body kept as a file of the run, named as the response or URL says."""
    return await ctx.store_file(
        response.aiter_bytes(),
        name=download_name(response.headers.get("content-disposition"), url),
        content_type=response.headers.get("content-type"),
        max_bytes=file_limit(ctx),
    )


@dataclass(frozen=True)
class StreamedBody:
    """A request body read from the store as it is sent, with its length and type."""

    chunks: AsyncIterator[bytes]
    length: int
    content_type: str

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """`headers` with this body's Content-Length, and its Content-Type unless one was given."""
        given = {k.lower() for k in headers}
        extra = {"Content-Length": str(self.length)}
        if "content-type" not in given:
            extra["Content-Type"] = self.content_type
        return {**{k: v for k, v in headers.items() if k.lower() != "content-length"}, **extra}


async def raw_file_body(ctx: ActionContext, ref: Any, path: str = "file") -> StreamedBody:
    kept = await ctx.kept_file(ref, path)
    return StreamedBody(ctx.open_file(kept, path), kept.size, kept.content_type)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _part_head(boundary: str, name: str, file: FileRef | None) -> bytes:
    disposition = f'form-data; name="{_quoted(name)}"'
    lines = []
    if file is not None:
        disposition += f'; filename="{_quoted(file.name)}"'
        lines.append(f"Content-Type: {file.content_type}")
    head = [f"--{boundary}", f"Content-Disposition: {disposition}", *lines, "", ""]
    return "\r\n".join(head).encode()


async def multipart_body(ctx: ActionContext, fields: dict[str, Any], path: str = "multipart") -> StreamedBody:
    """multipart/form-data of `fields`: a text value is a text part, a file reference (or a list of them)
    a file part per file, each streamed from the store."""
    boundary = f"baton-{secrets.token_hex(16)}"
    parts: list[tuple[bytes, FileRef | None, bytes]] = []
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            where = f"{path}.{name}" + (f"[{index}]" if isinstance(value, list) else "")
            if isinstance(item, FileRef) or (isinstance(item, dict) and "fileId" in item):
                kept = await ctx.kept_file(item, where)
                parts.append((_part_head(boundary, name, kept), kept, b""))
            else:
                text = item if isinstance(item, str) else _text(item)
                parts.append((_part_head(boundary, name, None), None, text.encode()))
    closing = f"--{boundary}--\r\n".encode()
    length = len(closing) + sum(
        len(head) + len(text) + (file.size if file else 0) + 2 for head, file, text in parts
    )

    async def chunks() -> AsyncIterator[bytes]:
        for head, file, text in parts:
            yield head
            if file is not None:
                async for chunk in ctx.open_file(file):
                    yield chunk
            else:
                yield text
            yield b"\r\n"
        yield closing

    return StreamedBody(chunks(), length, f"multipart/form-data; boundary={boundary}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
