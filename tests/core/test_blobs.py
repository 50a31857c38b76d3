"""The blob store's contract on each backend, the filesystem and S3 (a local S3-speaking server,
tests/s3_server.py): atomic writes, streams, stat, deletes by key, prefix and owner; the store picked by
BLOB_STORE_URL, the claim-check driver over it, and retention sweeping the blobs of runs that are gone."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
)

from core.blobs import (
    BlobNotFound,
    BlobStore,
    FileBlobStore,
    InvalidBlobKey,
    S3BlobStore,
    UnsupportedBlobStore,
    create_blob_store,
    segment,
)
from core.blobs.claims import BlobIntegrityError, BlobStorageDriver, execution_of
from core.logstore import PostgresLogStore
from core.ops.retention import Retention
from core.settings import Settings
from tests import s3_server
from tests.core.test_retention import execution, workspace_on


@pytest.fixture(params=["file", "s3"])
async def store(request: Any, tmp_path: Path, settings: Settings) -> AsyncIterator[BlobStore]:
    if request.param == "file":
        yield FileBlobStore(tmp_path / "blobs")
        return
    s3 = request.getfixturevalue("s3_server").store(settings)
    yield s3
    await s3.close()


async def listed(store: BlobStore, prefix: str = "") -> list[str]:
    return sorted([b.key async for b in store.scan(prefix)])


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_blob_put_reads_back_whole_and_as_a_stream_with_its_description(store: BlobStore) -> None:
    body = os.urandom(200_000)
    info = await store.put("ws/run-1/a.bin", body, content_type="application/pdf")
    assert (info.key, info.size, info.content_type) == ("ws/run-1/a.bin", len(body), "application/pdf")
    assert info.sha256 == hashlib.sha256(body).hexdigest()
    assert await store.get("ws/run-1/a.bin") == body
    assert b"".join([chunk async for chunk in store.open("ws/run-1/a.bin")]) == body
    assert await store.stat("ws/run-1/a.bin") == info
    assert await store.exists("ws/run-1/a.bin")


async def test_a_streamed_put_is_described_like_a_whole_one(store: BlobStore) -> None:
    info = await store.put("s/x", chunks(b"ab", b"cd", b""))
    assert (info.size, info.sha256, info.content_type) == (
        4,
        hashlib.sha256(b"abcd").hexdigest(),
        "application/octet-stream",
    )
    assert await store.get("s/x") == b"abcd"


async def test_a_put_replaces_the_blob_at_once_and_leaves_no_temporary_file(store: BlobStore) -> None:
    await store.put("k/v", b"old")
    await store.put("k/v", b"new value")
    assert await store.get("k/v") == b"new value"
    assert (await store.stat("k/v")).sha256 == hashlib.sha256(b"new value").hexdigest()
    assert await listed(store) == ["k/v"]
    if isinstance(store, FileBlobStore):
        assert sorted(p.name for p in (store.root / "k").iterdir()) == ["v", "v~meta"]


async def test_a_failed_stream_leaves_the_old_blob_and_nothing_half_written(store: BlobStore) -> None:
    await store.put("k/v", b"whole")

    async def broken() -> AsyncIterator[bytes]:
        yield b"half"
        raise ConnectionError("the upload stopped")

    with pytest.raises(ConnectionError):
        await store.put("k/v", broken())
    assert await store.get("k/v") == b"whole"
    assert await listed(store) == ["k/v"]
    if isinstance(store, FileBlobStore):
        assert sorted(p.name for p in (store.root / "k").iterdir()) == ["v", "v~meta"]


async def test_a_missing_blob_is_not_found_everywhere(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await store.get("no/such")
    with pytest.raises(BlobNotFound):
        await store.stat("no/such")
    with pytest.raises(BlobNotFound):
        [chunk async for chunk in store.open("no/such")]
    assert not await store.exists("no/such")
    assert not await store.delete("no/such")


@pytest.mark.parametrize(
    "key", ["", "../etc/passwd", "a/../../b", "/abs", "a//b", "a/b~meta", ".hidden", "a\\b"]
)
async def test_keys_cannot_leave_the_store_or_name_its_own_files(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidBlobKey):
        await store.put(key, b"x")
    with pytest.raises(InvalidBlobKey):
        await store.get(key)


async def test_blobs_are_deleted_one_by_one_and_by_owner(store: BlobStore) -> None:
    for key in ("w/run-a/1", "w/run-a/2", "w/run-ab/1", "w/run-b/1"):
        await store.put(key, key.encode())
    assert await store.delete("w/run-b/1")
    assert not await store.exists("w/run-b/1")
    assert await store.delete_prefix("w/run-a/") == 2  # run-ab is another owner
    assert await listed(store) == ["w/run-ab/1"]
    assert await store.delete_prefix("w/nobody/") == 0
    with pytest.raises(InvalidBlobKey):
        await store.delete_prefix("w/run-a")  # without its '/', a prefix would reach run-ab too


def test_any_name_becomes_one_safe_segment_that_keeps_names_apart() -> None:
    assert segment("run-123") == "run-123"
    odd = [segment(name) for name in ("a/b", "a:b", "../x", "a" * 300, "")]
    assert len(set(odd)) == len(odd)
    assert all("/" not in s and not s.startswith(".") and len(s) <= 128 for s in odd)
    assert segment("run-0b9b5d0e-0000-4000-8000-000000000001-loop/x-0").startswith("run-0b9b5d0e-")


def test_blob_store_url_picks_the_backend(tmp_path: Path, settings: Settings) -> None:
    assert create_blob_store(settings) is None  # off unless asked for
    by_url = create_blob_store(settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/b"}))
    assert isinstance(by_url, FileBlobStore)
    assert by_url.root == tmp_path / "b"
    by_path = create_blob_store(settings.model_copy(update={"blob_store_url": str(tmp_path / "c")}))
    assert isinstance(by_path, FileBlobStore)
    assert by_path.root == tmp_path / "c"
    with pytest.raises(UnsupportedBlobStore, match="BLOB_S3_ACCESS_KEY_ID"):
        create_blob_store(settings.model_copy(update={"blob_store_url": "s3://bucket/prefix"}))
    keyed = settings.model_copy(
        update={
            "blob_store_url": "s3://bucket/some/prefix",
            "blob_s3_access_key_id": "id",
            "blob_s3_secret_access_key": "secret",
            "blob_s3_region": "eu-west-3",
        }
    )
    on_aws = create_blob_store(keyed)
    assert isinstance(on_aws, S3BlobStore)
    assert (on_aws.bucket, on_aws.prefix, on_aws.region) == ("bucket", "some/prefix/", "eu-west-3")
    with pytest.raises(UnsupportedBlobStore):
        create_blob_store(settings.model_copy(update={"blob_store_url": "gs://bucket/prefix"}))


async def test_the_driver_keys_payloads_by_workflow_and_refuses_an_altered_blob(store: BlobStore) -> None:
    driver = BlobStorageDriver(store)
    target = StorageDriverWorkflowInfo(namespace="default", id="run-0b9b5d0e-0000-4000-8000-000000000001")
    payload = Payload(metadata={"encoding": b"binary/encrypted"}, data=os.urandom(300_000))
    [claim] = await driver.store(StorageDriverStoreContext(target=target), [payload])
    assert claim.claim_data["key"].startswith("workflows/run-0b9b5d0e-0000-4000-8000-000000000001/")
    assert await driver.retrieve(StorageDriverRetrieveContext(), [claim]) == [payload]
    assert execution_of("run-0b9b5d0e-0000-4000-8000-000000000001-loop.x-0") == (
        "0b9b5d0e-0000-4000-8000-000000000001"
    )
    assert execution_of("batch-1") is None

    await store.put(claim.claim_data["key"], b"something else")
    with pytest.raises(BlobIntegrityError):
        await driver.retrieve(StorageDriverRetrieveContext(), [claim])
    forged = StorageDriverClaim({"key": "../../etc/passwd", "sha256": "0"})
    with pytest.raises(InvalidBlobKey):
        await driver.retrieve(StorageDriverRetrieveContext(), [forged])


def age(store: BlobStore, key: str, days: float) -> None:
    if isinstance(store, S3BlobStore):
        s3_server.age(store, key, days)
        return
    assert isinstance(store, FileBlobStore)
    when = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    os.utime(store.root.joinpath(*key.split("/")), (when, when))


async def test_retention_removes_the_blobs_of_runs_that_are_gone_and_old_blobs_of_nothing(
    db: asyncpg.Connection, engine: AsyncEngine, settings: Settings, store: BlobStore
) -> None:
    _, free = await workspace_on(db, "FREE")  # 90 days
    removed = await execution(db, free, 91)  # removed by this retention run
    kept = await execution(db, free, 10)
    vanished = "0b9b5d0e-0000-4000-8000-0000000000aa"  # its workspace was deleted
    starting = "0b9b5d0e-0000-4000-8000-0000000000bb"  # no row yet: a run just starting
    keys = {
        "removed": f"workflows/run-{removed}/1",
        "removed-loop": f"workflows/run-{removed}-loop.x-0/1",
        "kept": f"workflows/run-{kept}/1",
        "vanished": f"workflows/run-{vanished}/1",
        "starting": f"workflows/run-{starting}/1",
        "old-batch": "workflows/batch-1/1",
        "new-batch": "workflows/batch-2/1",
        "old-heartbeat": "activities/act-1/1",
    }
    for key in keys.values():
        await store.put(key, b"x")
    for name in ("removed", "removed-loop", "kept", "vanished"):
        age(store, keys[name], 2)
    age(store, keys["old-batch"], 400)
    age(store, keys["old-heartbeat"], 400)
    age(store, keys["new-batch"], 30)

    retention = Retention(engine, PostgresLogStore(engine), settings, blobs=store)
    dry = await retention.run(dry_run=True)
    # a dry run removes no row, so the run it would remove still has its blobs
    assert dry.as_dict()["removed"]["blobs"] == 3  # type: ignore[index]
    assert len([b async for b in store.scan()]) == len(keys)

    done = await retention.run()
    assert done.as_dict()["removed"]["blobs"] == 5  # type: ignore[index]
    left = await listed(store)
    assert left == sorted([keys["kept"], keys["starting"], keys["new-batch"]])
