"""gzip and zip, both ways. Decompressing reads at most DATA_MAX_BYTES of output in all, counted as the
bytes come out (a bomb's headers may claim anything), and at most DATA_MAX_ROWS entries of a zip; entry names
are kept as names only (a file made from an entry is named by its last segment: no `../` reaches anything).
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from typing import Literal

from pydantic import BaseModel, Field

from core.files import safe_name
from integrations.context import ActionContext
from integrations.data.common import (
    Deadline,
    Limits,
    Made,
    MakesBinary,
    Output,
    Source,
    computed,
    data_action,
    invalid,
    make,
    read_source,
)

CHUNK = 64 * 1024
ZIP = "application/zip"


class Entry(Source):
    name: str = Field(min_length=1, max_length=255, description="The entry's name in the zip")


class CompressInput(Source, MakesBinary):
    format: Literal["gzip", "zip"] = "gzip"
    entries: list[Entry] | None = Field(
        default=None, description="zip: the entries (else the one input, named after fileName)"
    )
    file_name: str | None = Field(default=None, alias="fileName", description="The made file's name")


@data_action(
    "compress",
    "Compress",
    "gzip one input, or zip several entries (text, base64 or files) into one archive",
)
async def compress(data_in: CompressInput, ctx: ActionContext) -> Made:
    limits = Limits.of(ctx)
    if data_in.format == "gzip" or not data_in.entries:
        if data_in.entries:
            raise invalid("entries are for format zip; gzip compresses one input")
        named = data_in.file.name if data_in.file is not None else "data"
        entries = [(named, await read_source(data_in, ctx))]
    else:
        if any(getattr(data_in, name) is not None for name in ("content", "content_base64", "file")):
            raise invalid("give either entries or one input (content, contentBase64 or file)")
        if len(data_in.entries) > limits.max_rows:
            raise limits.too_many("entries")
        entries = [
            (e.name, await read_source(e, ctx, f"entries[{i}]")) for i, e in enumerate(data_in.entries)
        ]
    if sum(len(raw) for _, raw in entries) > limits.max_bytes:
        raise limits.too_large("the entries together")

    def work(deadline: Deadline) -> bytes:
        if data_in.format == "gzip":
            return gzip.compress(entries[0][1], mtime=0)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, raw in entries:
                deadline.check()
                archive.writestr(name, raw)
        return buffer.getvalue()

    raw = await computed(ctx, f"making the {data_in.format}", work)
    default = f"{entries[0][0]}.gz" if data_in.format == "gzip" else "archive.zip"
    kind = "application/gzip" if data_in.format == "gzip" else ZIP
    return await make(
        raw, data_in.output, ctx, name=data_in.file_name or default, content_type=kind, what="the archive"
    )


class DecompressInput(Source):
    format: Literal["auto", "gzip", "zip"] = Field(default="auto", description="auto: by the first bytes")
    output: Output = Field(default="file", description="Each entry as text, base64 or a new file")


class Extracted(Made):
    name: str
    size: int


class DecompressOutput(BaseModel):
    entries: list[Extracted] = Field(description="zip: every file entry; gzip: the one")
    count: int


def _ungzip(raw: bytes, limits: Limits, deadline: Deadline) -> bytes:
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, multi-member streams read on below
    out = bytearray()
    data_left = raw
    while data_left:
        deadline.check()
        out += inflater.decompress(data_left, limits.max_bytes + 1 - len(out))
        if len(out) > limits.max_bytes:
            raise limits.too_large("the decompressed data")
        data_left = inflater.unconsumed_tail
        if not data_left and inflater.eof and inflater.unused_data:  # the next gzip member
            data_left, inflater = inflater.unused_data, zlib.decompressobj(wbits=47)
    if not inflater.eof:
        raise invalid("the gzip data is truncated")
    return bytes(out)


def _unzip(raw: bytes, limits: Limits, deadline: Deadline) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    total = 0
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if len(found) >= limits.max_rows:
                raise limits.too_many("entries")
            parts = []
            with archive.open(info) as member:
                while chunk := member.read(CHUNK):
                    deadline.check()
                    total += len(chunk)
                    if total > limits.max_bytes:
                        raise limits.too_large("the decompressed entries")
                    parts.append(chunk)
            found.append((info.filename, b"".join(parts)))
    return found


@data_action(
    "decompress",
    "Decompress",
    "Unpack gzip data or a zip archive: each entry as text, base64 or a new file",
)
async def decompress(data_in: DecompressInput, ctx: ActionContext) -> DecompressOutput:
    raw = await read_source(data_in, ctx)
    limits = Limits.of(ctx)
    kind: str = data_in.format
    if kind == "auto":
        kind = "gzip" if raw[:2] == b"\x1f\x8b" else "zip" if raw[:2] == b"PK" else ""
        if not kind:
            raise invalid("the data is neither gzip nor zip (give `format`)")

    def work(deadline: Deadline) -> list[tuple[str, bytes]]:
        try:
            if kind == "gzip":
                named = data_in.file.name.removesuffix(".gz") if data_in.file is not None else "data"
                return [(named, _ungzip(raw, limits, deadline))]
            return _unzip(raw, limits, deadline)
        except (zlib.error, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
            raise invalid(f"the {kind} data cannot be read ({exc})") from exc

    unpacked = await computed(ctx, f"unpacking the {kind}", work)
    entries = []
    for name, content in unpacked:
        made = await make(content, data_in.output, ctx, name=safe_name(name), content_type="", what=name)
        entries.append(
            Extracted(**made.model_dump(by_alias=True, exclude_none=True), name=name, size=len(content))
        )
    return DecompressOutput(entries=entries, count=len(entries))
