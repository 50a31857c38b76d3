"""Files as values (core.files): stored as a stream with size and SHA-256 counted on the way, read back as a
stream or whole within a limit, kept under the run's owner prefix so retention removes them with the run,
invisible to another workspace, names made safe."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.blobs import FileBlobStore
from core.files import (
    FileNotFound,
    FilesUnavailable,
    FileTooLarge,
    InvalidFileRef,
    describe_file,
    file_ref,
    open_file,
    read_file_bytes,
    safe_name,
    store_file,
)
from core.logstore import PostgresLogStore
from core.ops.retention import Retention
from core.settings import Settings
from tests.core.test_retention import execution, workspace_on

WORKSPACE = str(uuid.uuid4())
RUN = str(uuid.uuid4())


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


async def pieces(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_streamed_file_is_a_reference_with_its_size_and_digest_and_reads_back(
    store: FileBlobStore,
) -> None:
    data = os.urandom(300_001)
    ref = await store_file(
        store, WORKSPACE, RUN, pieces(data), name="../../etc/report.pdf", content_type="Application/PDF; x=1"
    )
    assert ref.size == len(data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert (ref.name, ref.content_type) == ("report.pdf", "application/pdf")
    assert ref.execution_id == RUN
    value = ref.as_value()
    assert set(value) == {"fileId", "name", "size", "contentType", "sha256"}
    assert b"".join([c async for c in open_file(store, WORKSPACE, value)]) == data
    assert await read_file_bytes(store, WORKSPACE, value, len(data)) == data
    with pytest.raises(FileTooLarge):
        await read_file_bytes(store, WORKSPACE, value, len(data) - 1)
    assert await describe_file(store, WORKSPACE, ref.file_id) == ref
    # the bytes sit under the run's owner prefix, which retention sweeps with the run
    keys = [b.key async for b in store.scan()]
    assert len(keys) == 2
    assert all(k.startswith(f"workflows/run-{RUN}-files/{WORKSPACE}.") for k in keys)


async def test_another_workspace_cannot_read_a_file_even_with_its_reference(store: FileBlobStore) -> None:
    ref = await store_file(store, WORKSPACE, RUN, b"secret", name="a.txt", content_type="text/plain")
    other = str(uuid.uuid4())
    with pytest.raises(FileNotFound):
        [c async for c in open_file(store, other, ref)]
    with pytest.raises(FileNotFound):
        await describe_file(store, other, ref.file_id)
    forged = {**ref.as_value(), "fileId": f"{RUN}.{'0' * 32}"}
    with pytest.raises(FileNotFound):
        await read_file_bytes(store, WORKSPACE, forged, 100)


async def test_a_file_past_its_limit_is_refused_while_streaming_and_nothing_is_kept(
    store: FileBlobStore,
) -> None:
    with pytest.raises(FileTooLarge):
        await store_file(store, WORKSPACE, RUN, pieces(b"x" * 50_000), name="big", max_bytes=20_000)
    assert [b async for b in store.scan()] == []
    with pytest.raises(FilesUnavailable):
        await store_file(None, WORKSPACE, RUN, b"x", name="a")


@pytest.mark.parametrize(
    ("value", "path"),
    [("a string", "input.file"), ({"name": "x"}, "input.file"), ({"fileId": "nope", "name": "x"}, "input.f")],
)
def test_a_value_that_is_not_a_file_reference_is_refused_naming_its_path(value: object, path: str) -> None:
    with pytest.raises(InvalidFileRef) as refused:
        file_ref(value, path)
    assert refused.value.path == path


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        ("../..", "file"),
        ('a"b\r\nContent-Type: x.txt', "abContent-Type x.txt"),
        ("", "file"),
        (None, "file"),
        ("x" * 300 + ".csv", "x" * 196 + ".csv"),
        ("r\u00e9sum\u00e9 \u202e.pdf", "r\u00e9sum\u00e9 .pdf"),
    ],
)
def test_file_names_from_outside_are_made_safe(name: str | None, kept: str) -> None:
    assert safe_name(name) == kept


async def test_retention_removes_a_runs_files_once_the_run_is_gone(
    db: asyncpg.Connection, engine: AsyncEngine, settings: Settings, store: FileBlobStore
) -> None:
    workspace, workflow = await workspace_on(db, "FREE")
    removed = await execution(db, workflow, 91)
    kept = await execution(db, workflow, 10)
    gone = await store_file(store, workspace, removed, b"old", name="old.txt")
    stays = await store_file(store, workspace, kept, b"new", name="new.txt")
    when = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    for blob in [b async for b in store.scan()]:
        os.utime(store.root.joinpath(*blob.key.split("/")), (when, when))
    await Retention(engine, PostgresLogStore(engine), settings, blobs=store).run()
    with pytest.raises(FileNotFound):
        await read_file_bytes(store, workspace, gone, 10)
    assert await read_file_bytes(store, workspace, stays, 10) == b"new"


def test_the_json_schemas_describe_files_by_the_issues_names() -> None:
    from core.definition.steps import definition_json_schema
    from integrations.catalogue import action_input_schema

    assert "file" in definition_json_schema()["$defs"]["RespondStep"]["properties"]
    request = action_input_schema("http.request")
    assert request is not None
    assert {"file", "multipart", "responseFormat"} <= set(request["properties"])
    fields = set(request["$defs"]["FileRef"]["properties"])
    assert fields == {"fileId", "name", "size", "contentType", "sha256"}
