"""`baton backup` of a running embedded stack, then `baton restore` into a fresh data folder: the restored
servers hold the same workflows and executions, Redis keys, Temporal workflow histories and the blobs those
refer to."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from temporalio.client import Client

from baton.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedTemporal, free_port
from baton.migrate import upgrade_to_head_async
from core.blobs import FileBlobStore
from tests.baton.cli import baton as run_baton
from tests.factories import create_workflow

pytestmark = pytest.mark.slow


def baton(*args: str) -> subprocess.CompletedProcess[str]:
    return run_baton(*args, timeout=300)


class Stack:
    """The embedded servers of one data folder, as `baton dev` lays them out."""

    def __init__(self, root: Path) -> None:
        self.postgres = EmbeddedPostgres(root / "postgres", free_port())
        self.redis = EmbeddedRedis(root / "redis", free_port())
        self.temporal = EmbeddedTemporal(root / "temporal", free_port(), free_port())

    def start(self) -> None:
        self.postgres.start()
        self.redis.start()
        self.temporal.start()

    def stop(self) -> None:
        for server in (self.temporal, self.redis, self.postgres):
            server.stop()


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    return tmp_path / "data", tmp_path / "backup", tmp_path / "restored"


async def test_backup_then_restore_into_a_fresh_data_folder_gives_the_same_stack(
    folders: tuple[Path, Path, Path],
) -> None:
    data, backup_dir, restored = folders
    stack = Stack(data)
    stack.start()
    try:
        await upgrade_to_head_async(stack.postgres.url)
        db = await asyncpg.connect(stack.postgres.url)
        workflow_id = await create_workflow(db, [{"id": "a", "type": "set", "values": {}}])
        execution_ids = [
            await db.fetchval(
                "INSERT INTO workflow_executions (workflow_id, status, trigger_data) "
                "VALUES ($1, 'SUCCESS', $2) RETURNING id",
                workflow_id,
                f'{{"n": {n}}}',
            )
            for n in range(3)
        ]
        await db.close()
        redis = Redis.from_url(stack.redis.url)
        await redis.set("baton-backup-check", "kept")
        await redis.aclose()
        temporal = await Client.connect(stack.temporal.address)
        temporal_id = f"kept-{uuid.uuid4().hex[:8]}"
        await temporal.start_workflow("NoWorkerNeeded", id=temporal_id, task_queue="nobody")
        blob = await FileBlobStore(data / "blobs").put("workflows/run-x/abc", b"kept aside")

        done = baton("backup", str(backup_dir), "--data-dir", str(data))  # while everything runs
        assert done.returncode == 0, done.stderr
        assert "PostgreSQL is running" in done.stdout
        assert "1 workflows" in done.stdout
        assert "3 workflow_executions" in done.stdout
        assert {p.name for p in backup_dir.iterdir()} >= {
            "postgres.dump",
            "redis",
            "temporal.db",
            "manifest.json",
        }
    finally:
        stack.stop()

    again = baton("backup", str(backup_dir), "--data-dir", str(data))
    assert again.returncode == 1
    assert "not empty" in again.stderr

    done = baton("restore", str(backup_dir), "--data-dir", str(restored))
    assert done.returncode == 0, done.stderr
    assert "(as in the backup)" in done.stdout
    assert f"baton dev --data-dir {restored}" in done.stdout

    fresh = Stack(restored)
    fresh.start()
    try:
        db = await asyncpg.connect(fresh.postgres.url)
        assert await db.fetchval("SELECT id FROM workflows") == workflow_id
        rows = await db.fetch("SELECT id, trigger_data FROM workflow_executions ORDER BY trigger_data->>'n'")
        assert [r["id"] for r in rows] == execution_ids
        await db.close()
        redis = Redis.from_url(fresh.redis.url, decode_responses=True)
        assert await redis.get("baton-backup-check") == "kept"
        await redis.aclose()
        temporal = await Client.connect(fresh.temporal.address)
        described = await temporal.get_workflow_handle(temporal_id).describe()
        assert described.workflow_type == "NoWorkerNeeded"
        assert await FileBlobStore(restored / "blobs").stat(blob.key) == blob
    finally:
        fresh.stop()

    into_used = baton("restore", str(backup_dir), "--data-dir", str(restored))
    assert into_used.returncode == 1
    assert "not empty" in into_used.stderr
    not_a_backup = baton("restore", str(data), "--data-dir", str(restored.parent / "other"))
    assert not_a_backup.returncode == 1
    assert "not a Baton backup" in not_a_backup.stderr
