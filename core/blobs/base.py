"""The blob store's interface: bytes kept under a key (`owner/.../name`), read back whole or as a stream,
described (size, SHA-256, content type, when written) and removed one by one, by prefix or by age."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

DEFAULT_CONTENT_TYPE = "application/octet-stream"
CHUNK_BYTES = 64 * 1024
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,127}")

Body = bytes | AsyncIterable[bytes]


class BlobNotFound(LookupError):
    """No blob is kept under this key (never written, deleted, or removed by retention)."""


class InvalidBlobKey(ValueError):
    """A key that is not `segment/segment/...` of safe characters (nothing may climb out of the store)."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str
    content_type: str
    created_at: datetime


class BlobStore(Protocol):
    kind: str

    async def put(self, key: str, body: Body, *, content_type: str = DEFAULT_CONTENT_TYPE) -> BlobInfo:
        """Writes `body` under `key` (replacing what was there) all at once: a reader sees the old blob or
        the new one, never a part."""

    async def get(self, key: str) -> bytes:
        """The whole blob; BlobNotFound when there is none."""

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob in chunks, for values too large to hold at once; BlobNotFound on first read."""

    async def stat(self, key: str) -> BlobInfo:
        """What is kept under `key`; BlobNotFound when nothing is."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> bool:
        """Removes one blob; False when there was none."""

    async def delete_prefix(self, prefix: str) -> int:
        """Removes every blob whose key starts with `prefix` (an owner's: `prefix` ends with '/');
        returns how many."""

    def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every blob under `prefix`, in no particular order (what retention sweeps)."""

    async def close(self) -> None: ...


def check_key(key: str) -> str:
    """`key` when it is safe segments joined by '/', else InvalidBlobKey."""
    parts = key.split("/")
    if not key or any(not _SAFE_SEGMENT.fullmatch(p) for p in parts):
        raise InvalidBlobKey(f"{key!r} is not a blob key (safe segments joined by '/')")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix is empty or a key followed by '/', so `a/b` never matches `a/bc`."""
    if prefix:
        if not prefix.endswith("/"):
            raise InvalidBlobKey(f"{prefix!r} is not a blob key prefix (it ends with '/')")
        check_key(prefix[:-1])
    return prefix


def segment(text: str) -> str:
    """`text` as one key segment: itself when it is safe, else a digest of it (names from outside, such as a
    Temporal workflow id, may hold any character)."""
    if _SAFE_SEGMENT.fullmatch(text):
        return text
    # readable start kept (a run's id stays findable), the digest keeps two names apart
    readable = re.sub(r"[^A-Za-z0-9._=-]", "_", text)[:80].lstrip("._=-")
    return f"{readable or 'x'}-h{hashlib.sha256(text.encode()).hexdigest()[:24]}"
