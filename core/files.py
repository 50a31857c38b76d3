"""Files as values: a file is a reference `{fileId, name, size, contentType, sha256}` any step can hold and
pass; its bytes live in the blob store (core.blobs), written and read as streams, never whole in memory.

Ownership and access: a file belongs to the workspace and to the run that made it. Its bytes are kept under
`workflows/run-<execution id>-files/<workspace id>.<token>` (with `<...>.ref`, the reference itself, beside
them), so
- retention removes a run's files with the run (core.ops.retention sweeps the `run-<execution id>-...`
  owners once the execution row is gone, as for the claim-check's blobs);
- a reader always names its own workspace (a step: its run's; the API: the workspace in the path), and a
  reference from another workspace names a key that does not exist: FileNotFound, the same answer as for a
  file that never was (a definition that copies another tenant's fileId learns nothing);
- the token is 128 random bits: a fileId cannot be guessed from a run's id.

The functions other modules use:
- `store_file(blobs, workspace_id, execution_id, body, name=..., content_type=..., max_bytes=...)` -> FileRef
  (`body`: bytes or an async iterable of chunks; size and SHA-256 are counted as the chunks go by; past
  `max_bytes` it raises FileTooLarge and nothing is kept);
- `open_file(blobs, workspace_id, ref)` -> an async iterator of byte chunks;
- `read_file_bytes(blobs, workspace_id, ref, limit)` -> the whole file, FileTooLarge past `limit` (for parsers
  of bounded inputs);
- `file_ref(value, path)` -> a FileRef from a step's input (a dict with `fileId`, or a FileRef),
  InvalidFileRef naming `path` otherwise;
- `safe_name(name)`: a file name from outside as Baton keeps and serves it (no folders, no control
  characters, at most 200 characters).
Actions reach the same through `ActionContext.store_file/open_file/read_file` (integrations.context)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from core.blobs.base import DEFAULT_CONTENT_TYPE, BlobNotFound, BlobStore, Body
from core.errors import NotFound
from core.runs import reads

REF_SUFFIX = ".ref"
MAX_NAME = 200
_TOKEN = re.compile(r"[0-9a-f]{32}")
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")


class FileError(Exception):
    """Base of what goes wrong with a file (each names what to do)."""


class FileNotFound(FileError, LookupError):
    """No such file for this workspace: never made, removed with its run, or another workspace's."""


class FileTooLarge(FileError, ValueError):
    def __init__(self, limit: int, what: str = "the file") -> None:
        super().__init__(f"{what} is larger than {limit} bytes")
        self.limit = limit


class InvalidFileRef(FileError, ValueError):
    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class FilesUnavailable(FileError, RuntimeError):
    """No blob store is configured (BLOB_STORE_URL), so no file can be kept."""

    def __init__(self) -> None:
        super().__init__("files need a blob store: set BLOB_STORE_URL (baton dev sets it for you)")


class FileRef(BaseModel):
    """What a step holds for a file: the bytes stay in the store."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    file_id: str = Field(alias="fileId", min_length=1, max_length=100)
    name: str = Field(description="The file's name (safe: no folders, no control characters)")
    size: int = Field(ge=0, description="Bytes")
    content_type: str = Field(alias="contentType", description="As declared by its source; never trusted")
    sha256: str = Field(description="Hex SHA-256 of the bytes")

    def as_value(self) -> dict[str, Any]:
        """The reference as a run's value (JSON, camelCase as the definition language spells it)."""
        return self.model_dump(by_alias=True)

    @property
    def execution_id(self) -> str:
        return _split(self.file_id)[0]


def new_file_id(execution_id: str) -> str:
    return f"{uuid.UUID(execution_id)}.{secrets.token_hex(16)}"


def _split(file_id: str) -> tuple[str, str]:
    execution, _, token = file_id.partition(".")
    try:
        parsed = str(uuid.UUID(execution))
    except ValueError:
        parsed = ""
    if parsed != execution or not _TOKEN.fullmatch(token):
        raise FileNotFound(f"{file_id!r} is not a file id")
    return execution, token


def file_key(workspace_id: str, file_id: str) -> str:
    """Where the bytes of `file_id` are for `workspace_id` (a workspace cannot name another's key)."""
    execution, token = _split(file_id)
    return f"{files_prefix(execution)}{uuid.UUID(workspace_id)}.{token}"


def files_prefix(execution_id: str) -> str:
    """The owner prefix of a run's files: retention's `workflows/run-<execution id>-...` owners."""
    return f"workflows/run-{uuid.UUID(execution_id)}-files/"


def safe_name(name: str | None, default: str = "file") -> str:
    """A name from outside (an upload, a Content-Disposition, a URL, an attachment) as Baton keeps it: the
    last path segment, without control or format characters, quotes or backslashes, at most MAX_NAME
    characters (the extension kept), never empty, '.' or '..'."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        c for c in text if unicodedata.category(c)[0] != "C" and c not in '"<>|:*?' and c != "\u2028"
    )
    text = text.strip().strip(".").strip()
    if not text:
        return default
    if len(text) > MAX_NAME:
        stem, dot, extension = text.rpartition(".")
        text = (
            stem[: MAX_NAME - len(extension) - 1] + dot + extension
            if dot and 0 < len(extension) <= 16
            else text[:MAX_NAME]
        )
    return text


def clean_content_type(value: str | None) -> str:
    """The media type only (no parameters), lower case; application/octet-stream when it is not one."""
    media = (value or "").split(";")[0].strip().lower()
    return media if _CONTENT_TYPE.fullmatch(media) else DEFAULT_CONTENT_TYPE


def file_ref(value: Any, path: str = "file") -> FileRef:
    """A FileRef from a step's input (the dict a step holds, or a FileRef); InvalidFileRef naming `path`."""
    if isinstance(value, FileRef):
        return value
    if not isinstance(value, dict) or "fileId" not in value:
        raise InvalidFileRef(
            "expected a file (an object with fileId, name, size, contentType and sha256, such as "
            "an item of trigger.files or the output of a download)",
            path,
        )
    try:
        ref = FileRef.model_validate(value)
        _split(ref.file_id)
    except (ValidationError, FileNotFound) as exc:
        raise InvalidFileRef(f"not a file reference ({str(exc).splitlines()[0]})", path) from exc
    return ref


def is_file_ref(value: Any) -> bool:
    try:
        file_ref(value)
    except InvalidFileRef:
        return False
    return True


async def _chunks(body: Body) -> AsyncIterator[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        yield bytes(body)
        return
    async for chunk in body:
        if chunk:
            yield chunk


async def store_file(
    blobs: BlobStore | None,
    workspace_id: str,
    execution_id: str,
    body: Body,
    *,
    name: str | None,
    content_type: str | None = None,
    max_bytes: int | None = None,
) -> FileRef:
    """Keeps `body` as a new file of the run `execution_id` in `workspace_id`, streaming it to the store;
    FileTooLarge (nothing kept) once more than `max_bytes` went by."""
    if blobs is None:
        raise FilesUnavailable
    file_id = new_file_id(execution_id)
    key = file_key(workspace_id, file_id)
    digest = hashlib.sha256()
    size = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal size
        async for chunk in _chunks(body):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FileTooLarge(max_bytes)
            digest.update(chunk)
            yield chunk

    media = clean_content_type(content_type)
    await blobs.put(key, counted(), content_type=media)
    ref = FileRef(
        file_id=file_id, name=safe_name(name), size=size, content_type=media, sha256=digest.hexdigest()
    )
    await blobs.put(key + REF_SUFFIX, json.dumps(ref.as_value()).encode(), content_type="application/json")
    return ref


async def describe_file(blobs: BlobStore | None, workspace_id: str, file_id: str) -> FileRef:
    """The reference kept with the file (what the API serves it by); FileNotFound for another workspace's."""
    if blobs is None:
        raise FilesUnavailable
    try:
        kept = await blobs.get(file_key(workspace_id, file_id) + REF_SUFFIX)
    except (BlobNotFound, ValueError) as exc:
        raise FileNotFound(f"no file {file_id!r} in this workspace") from exc
    return FileRef.model_validate(json.loads(kept))


async def open_file(
    blobs: BlobStore | None, workspace_id: str, ref: FileRef | dict[str, Any]
) -> AsyncIterator[bytes]:
    """The file's bytes in chunks (about 64 KiB each), as kept; FileNotFound when this workspace has no such
    file (the check happens before the first chunk)."""
    if blobs is None:
        raise FilesUnavailable
    found = file_ref(ref)
    key = file_key(workspace_id, found.file_id)
    if not await blobs.exists(key):
        raise FileNotFound(f"no file {found.file_id!r} in this workspace (removed with its run?)")
    async for chunk in blobs.open(key):
        yield chunk


async def read_file_bytes(
    blobs: BlobStore | None, workspace_id: str, ref: FileRef | dict[str, Any], limit: int
) -> bytes:
    """The whole file, for code that needs it at once (a parser); FileTooLarge past `limit` bytes, before
    reading more than that."""
    found = file_ref(ref)
    if found.size > limit:
        raise FileTooLarge(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in open_file(blobs, workspace_id, found):
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


def attachment_disposition(name: str) -> str:
    """Content-Disposition for serving a file: always an attachment (never shown inline by a browser on
    Baton's origin), the name as ASCII in `filename` and whole in `filename*` (RFC 6266)."""
    plain = safe_name(name).encode("ascii", "replace").decode().replace("?", "_").replace("%", "_")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(safe_name(name), safe='')}"


# What every answer serving a file's bytes carries, whatever the file claims to be.
SERVING_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def serving_headers(ref: FileRef) -> dict[str, str]:
    """The headers of an answer whose body is the file: its length, its declared type (never sniffed, never
    rendered inline) and its name."""
    return {
        "Content-Type": ref.content_type,
        "Content-Length": str(ref.size),
        "Content-Disposition": attachment_disposition(ref.name),
        **SERVING_HEADERS,
    }


async def run_file(
    session: AsyncSession, blobs: BlobStore | None, workspace_id: str, execution_id: str, file_id: str
) -> FileRef:
    """A file made by the run `execution_id`, read with the run's own access rule: the run is this
    workspace's (else NotFound, as for the run itself) and the file is this run's."""
    await reads.get(session, workspace_id, execution_id)
    try:
        ref = await describe_file(blobs, workspace_id, file_id)
    except (FileNotFound, FilesUnavailable) as exc:
        raise NotFound("file not found") from exc
    if ref.execution_id != execution_id:
        raise NotFound("file not found")
    return ref
