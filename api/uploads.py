"""A webhook call's files: a multipart/form-data upload or a raw binary body, spooled to a temporary file as
it arrives (never whole in memory, WEBHOOK_FILE_MAX_BYTES at most), then kept as the run's files
(core.files) once the ingress knows the run: `trigger.files` lists their references, and a multipart call's
text fields are `trigger.body`.

The spooled body stays readable as bytes (a read-only memory map of the temporary file, paged in by the
kernel) for the webhook's signature, which covers the raw body. Multipart is parsed by Starlette's parser
(python-multipart), which spools each file part to disk past 1 MiB."""

from __future__ import annotations

import asyncio
import mmap
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any, cast

from fastapi import Request
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from core.blobs import BlobStore
from core.blobs.base import CHUNK_BYTES
from core.files import FileRef, FileTooLarge, store_file

MULTIPART = "multipart/form-data"
MAX_FILES = 100
MAX_FIELDS = 1000


class InvalidUpload(ValueError):
    """A multipart body that cannot be read (malformed, too many parts, a text field too large)."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


@dataclass
class SpooledUpload:
    headers: Headers
    file: IO[bytes]
    size: int
    _map: mmap.mmap | None = field(default=None, repr=False)

    @classmethod
    async def receive(cls, request: Request, limit: int) -> SpooledUpload:
        """The request's body in a temporary file; FileTooLarge past `limit` bytes (nothing kept)."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(limit, "the request body")
                await asyncio.to_thread(spool.write, chunk)
            await asyncio.to_thread(spool.flush)
        except BaseException:
            spool.close()
            raise
        upload = cls(request.headers, spool, size)
        if size:
            upload._map = mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ)
        return upload

    @property
    def body(self) -> bytes:
        """The raw body for the signature check: the memory map, used as bytes (hmac and concatenation take
        any buffer)."""
        return cast(bytes, self._map) if self._map is not None else b""

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        offset = 0
        while offset < self.size:
            assert self._map is not None
            yield self._map[offset : offset + CHUNK_BYTES]
            offset += CHUNK_BYTES

    async def keep(
        self, blobs: BlobStore | None, workspace_id: str, execution_id: str, max_bytes: int
    ) -> dict[str, Any]:
        """Keeps the files as the run's: {"files": [FileRef...]} and, for multipart, {"body": text fields}."""
        content_type = self.headers.get("content-type")
        if media_type(content_type) != MULTIPART:
            disposition = Message()
            disposition["content-disposition"] = self.headers.get("content-disposition", "")
            name = disposition.get_filename() or self.headers.get("x-file-name") or "upload"
            ref = await store_file(
                blobs,
                workspace_id,
                execution_id,
                self.chunks(),
                name=name,
                content_type=content_type,
                max_bytes=max_bytes,
            )
            return {"files": [ref.as_value()]}
        parser = MultiPartParser(self.headers, self.chunks(), max_files=MAX_FILES, max_fields=MAX_FIELDS)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise InvalidUpload(f"the multipart body cannot be read: {exc.message}") from exc
        fields: dict[str, Any] = {}
        refs: list[dict[str, Any]] = []
        try:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    ref = await _keep_part(blobs, workspace_id, execution_id, name, value, max_bytes)
                    refs.append({**ref.as_value(), "field": name})
                elif name in fields:
                    kept = fields[name]
                    fields[name] = [*kept, value] if isinstance(kept, list) else [kept, value]
                else:
                    fields[name] = value
        finally:
            await form.close()
        return {"files": refs, "body": fields}

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        self.file.close()


async def _keep_part(
    blobs: BlobStore | None,
    workspace_id: str,
    execution_id: str,
    field_name: str,
    part: UploadFile,
    max_bytes: int,
) -> FileRef:
    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await part.read(CHUNK_BYTES):
            yield chunk

    return await store_file(
        blobs,
        workspace_id,
        execution_id,
        chunks(),
        name=part.filename or field_name,
        content_type=part.content_type,
        max_bytes=max_bytes,
    )
