"""Blobs as files under one folder (`baton dev`'s data folder, or a volume every Baton process mounts).

A blob is the file at its key; its SHA-256 and content type are in a sidecar `<file>~meta` next to it ('~'
is never in a key, so a key cannot name a sidecar or a temporary file). Writes go to a temporary file in the
same folder, flushed and renamed over the blob, so a reader never sees half a blob and a crash leaves at
most a temporary file (never listed; removed with its owner's folder). File I/O runs in threads: a large blob
never holds the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from core.blobs.base import (
    CHUNK_BYTES,
    DEFAULT_CONTENT_TYPE,
    BlobInfo,
    BlobNotFound,
    Body,
    check_key,
    check_prefix,
)

META_SUFFIX = "~meta"
TEMP_MARK = "~tmp-"


class FileBlobStore:
    kind = "file"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, key: str, body: Body, *, content_type: str = DEFAULT_CONTENT_TYPE) -> BlobInfo:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        descriptor, temp_name = await asyncio.to_thread(
            tempfile.mkstemp, dir=path.parent, prefix=f".{path.name}{TEMP_MARK}"
        )
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(descriptor, "wb") as out:
                if isinstance(body, bytes):
                    digest.update(body)
                    size = len(body)
                    await asyncio.to_thread(out.write, body)
                else:
                    async for chunk in body:
                        digest.update(chunk)
                        size += len(chunk)
                        await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(_sync, out)
            meta = {"sha256": digest.hexdigest(), "contentType": content_type, "size": size}
            await asyncio.to_thread(_write_meta, path, meta)
            await asyncio.to_thread(os.replace, temp_name, path)
        except BaseException:
            await asyncio.to_thread(_unlink, Path(temp_name))
            raise
        return await self.stat(key)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(key) from exc

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            source = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(key) from exc
        try:
            while chunk := await asyncio.to_thread(source.read, CHUNK_BYTES):
                yield chunk
        finally:
            source.close()

    async def stat(self, key: str) -> BlobInfo:
        info = await asyncio.to_thread(_describe, key, self._path(key))
        if info is None:
            raise BlobNotFound(key)
        return info

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        await asyncio.to_thread(_unlink, _meta_path(path))
        return await asyncio.to_thread(_unlink, path)

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.root.joinpath(*check_prefix(prefix).split("/")) if prefix else self.root
        count = sum(1 for _ in await asyncio.to_thread(lambda: list(_files(folder))))
        await asyncio.to_thread(shutil.rmtree, folder, True)
        return count

    async def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        folder = self.root.joinpath(*check_prefix(prefix).split("/")) if prefix else self.root
        paths = await asyncio.to_thread(lambda: list(_files(folder)))
        for path in paths:
            key = path.relative_to(self.root).as_posix()
            info = await asyncio.to_thread(_describe, key, path)
            if info is not None:
                yield info

    async def close(self) -> None:
        return None


def _sync(out: object) -> None:
    out.flush()  # type: ignore[attr-defined]
    os.fsync(out.fileno())  # type: ignore[attr-defined]


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def _write_meta(path: Path, meta: dict[str, object]) -> None:
    # written before the blob is renamed in: a blob is never seen without its description
    target = _meta_path(path)
    temp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{id(meta)}")
    temp.write_text(json.dumps(meta))
    os.replace(temp, target)


def _describe(key: str, path: Path) -> BlobInfo | None:
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not path.is_file():
        return None
    try:
        meta = json.loads(_meta_path(path).read_text())
    except (FileNotFoundError, ValueError):
        meta = {}
    if meta.get("size") != status.st_size:  # a sidecar from an earlier write of the same key
        meta = {"sha256": _sha256(path), "contentType": meta.get("contentType", DEFAULT_CONTENT_TYPE)}
    return BlobInfo(
        key=key,
        size=status.st_size,
        sha256=str(meta["sha256"]),
        content_type=str(meta.get("contentType", DEFAULT_CONTENT_TYPE)),
        created_at=datetime.fromtimestamp(status.st_mtime, UTC),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    """The blobs under `folder`: no sidecars, no temporary files."""
    if not folder.is_dir():
        return
    for parent, _, names in os.walk(folder):
        for name in names:
            if "~" not in name:
                yield Path(parent, name)


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
