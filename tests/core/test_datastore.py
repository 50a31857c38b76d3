"""The workspace data store on the real database: values, TTL, atomic increments, "only new items",
limits, tenant isolation and the retention sweep of expired keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core import datastore
from core.errors import InvalidInput, LimitExceeded
from core.logstore import PostgresLogStore
from core.models import Plan
from core.ops.retention import Retention
from core.settings import Settings
from tests.factories import create_workflow, create_workspace


async def test_a_value_set_is_read_back_and_deleted(engine: AsyncEngine, db: asyncpg.Connection) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        entry, written = await datastore.put(conn, workspace, "settings", {"mode": "fast", "n": [1, 2]})
        assert written
        assert (await datastore.get(conn, workspace, "settings")) == entry
        assert entry.value == {"mode": "fast", "n": [1, 2]}
        again, written = await datastore.put(conn, workspace, "settings", "other", if_absent=True)
        assert not written
        assert again.value == {"mode": "fast", "n": [1, 2]}
        assert await datastore.delete(conn, workspace, "settings")
        assert await datastore.get(conn, workspace, "settings") is None
        assert not await datastore.delete(conn, workspace, "settings")


async def test_an_expired_value_reads_as_absent_and_is_written_again(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        await datastore.put(conn, workspace, "token", "abc", ttl_seconds=60)
        await datastore.increment(conn, workspace, "hits", 5, ttl_seconds=60)
    await db.execute("UPDATE data_store_entries SET expires_at = now() - interval '1 second'")
    async with engine.begin() as conn:
        assert await datastore.get(conn, workspace, "token") is None
        assert await datastore.entries(conn, workspace) == []
        assert (await datastore.increment(conn, workspace, "hits", 2)).value == 2  # counts from 0 again
        _, written = await datastore.put(conn, workspace, "token", "new", if_absent=True)
        assert written


async def test_fifty_concurrent_increments_all_count(engine: AsyncEngine, db: asyncpg.Connection) -> None:
    workspace = await create_workspace(db)

    async def one() -> None:
        async with engine.begin() as conn:
            await datastore.increment(conn, workspace, "counter")

    await asyncio.gather(*(one() for _ in range(50)))
    async with engine.begin() as conn:
        entry = await datastore.get(conn, workspace, "counter")
    assert entry is not None
    assert entry.value == 50


async def test_an_increment_retried_with_the_same_operation_counts_once(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        assert (await datastore.increment(conn, workspace, "n", 2.5, operation="op-1")).value == 2.5
        assert (await datastore.increment(conn, workspace, "n", 2.5, operation="op-1")).value == 2.5
        assert (await datastore.increment(conn, workspace, "n", 1, operation="op-2")).value == 3.5


async def test_an_increment_of_a_value_that_is_not_a_number_is_refused(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        await datastore.put(conn, workspace, "name", "12")
        with pytest.raises(InvalidInput, match="holds a str"):
            await datastore.increment(conn, workspace, "name")


async def test_an_increment_ttl_is_kept_from_the_key_creation(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        first = await datastore.increment(conn, workspace, "window", ttl_seconds=60)
        second = await datastore.increment(conn, workspace, "window", ttl_seconds=3600)
    assert first.expires_at is not None
    assert second.expires_at == first.expires_at
    assert second.value == 2


async def test_only_new_items_are_answered_once_across_calls(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        assert await datastore.mark_seen(conn, workspace, "seen:w", ["a", "b", "b"]) == {"a", "b"}
        assert await datastore.mark_seen(conn, workspace, "seen:w", ["b", "c"], operation="x") == {"c"}
        # the same operation again (a retried step) answers what it answered first
        assert await datastore.mark_seen(conn, workspace, "seen:w", ["b", "c"], operation="x") == {"c"}
        assert await datastore.mark_seen(conn, workspace, "seen:other", ["a"]) == {"a"}
        assert await datastore.entries(conn, workspace) == []  # seen items are not keys


async def test_concurrent_marks_give_each_item_to_exactly_one_caller(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    items = [str(i) for i in range(30)]

    async def one() -> set[str]:
        async with engine.begin() as conn:
            return await datastore.mark_seen(conn, workspace, "seen:w", items)

    answers = await asyncio.gather(*(one() for _ in range(10)))
    assert sorted(k for answer in answers for k in answer) == sorted(items)


async def test_another_workspace_cannot_see_or_change_the_keys(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    mine, theirs = await create_workspace(db), await create_workspace(db)
    async with engine.begin() as conn:
        await datastore.put(conn, mine, "secret", "mine")
        assert await datastore.get(conn, theirs, "secret") is None
        assert await datastore.entries(conn, theirs) == []
        assert not await datastore.delete(conn, theirs, "secret")
        assert (await datastore.increment(conn, theirs, "secret")).value == 1
        assert (await datastore.get(conn, mine, "secret")) is not None
        assert (await datastore.require(conn, mine, "secret")).value == "mine"


async def test_keys_are_listed_by_prefix_in_pages(engine: AsyncEngine, db: asyncpg.Connection) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        for name in ("user:3", "user:1", "user:2", "order:1", "user_x"):
            await datastore.put(conn, workspace, name, name)
        page = await datastore.entries(conn, workspace, prefix="user:", limit=2)
        assert [e.key for e in page] == ["user:1", "user:2", "user:3"]  # one more: a page follows
        rest = await datastore.entries(conn, workspace, prefix="user:", after="user:2", limit=2)
        assert [e.key for e in rest] == ["user:3"]


async def test_values_and_workspaces_past_their_limits_are_refused(
    engine: AsyncEngine, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        with pytest.raises(LimitExceeded, match="256 KiB"):
            await datastore.put(conn, workspace, "big", "x" * (datastore.MAX_VALUE_BYTES + 1))
        with pytest.raises(InvalidInput):
            await datastore.put(conn, workspace, "k" * 600, 1)
    monkeypatch.setitem(datastore.PLAN_ROOM, Plan.FREE, (2, 1000))
    async with engine.begin() as conn:
        await datastore.put(conn, workspace, "a", 1)
        await datastore.put(conn, workspace, "b", 1)
        await datastore.put(conn, workspace, "b", 2)  # replacing a key takes no more room
        with pytest.raises(LimitExceeded, match="2 keys"):
            await datastore.put(conn, workspace, "c", 1)
        with pytest.raises(LimitExceeded, match="MiB"):
            await datastore.put(conn, workspace, "b", "y" * 2000)


async def test_the_sweep_removes_expired_keys_and_what_deleted_workflows_saw(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        await datastore.put(conn, workspace, "old", 1, ttl_seconds=1)
        await datastore.put(conn, workspace, "fresh", 1, ttl_seconds=3600)
        await datastore.put(conn, workspace, "forever", 1)
    workflow = await create_workflow(db, [], workspace_id=workspace)
    gone = await create_workflow(db, [], workspace_id=workspace)
    async with engine.begin() as conn:
        await datastore.mark_seen(conn, workspace, datastore.seen_namespace(workflow), ["a"])
        await datastore.mark_seen(conn, workspace, datastore.seen_namespace(gone), ["a"])
        await datastore.mark_seen(conn, workspace, datastore.seen_namespace(None), ["a"])
    await db.execute("DELETE FROM workflows WHERE id = $1", gone)
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert await datastore.sweep_expired(engine, later, batch=1, dry_run=True) == 2
    assert await datastore.sweep_expired(engine, later, batch=1, dry_run=False) == 2
    left = await db.fetch("SELECT namespace, key FROM data_store_entries ORDER BY namespace, key")
    assert [tuple(row) for row in left] == [
        ("", "forever"),
        ("", "fresh"),
        ("seen:", "a"),
        (f"seen:{workflow}", "a"),
    ]


async def test_the_retention_run_removes_expired_keys(
    engine: AsyncEngine, db: asyncpg.Connection, settings: Settings
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        await datastore.put(conn, workspace, "old", 1, ttl_seconds=60)
        await datastore.put(conn, workspace, "kept", 1)
    await db.execute(
        "UPDATE data_store_entries SET expires_at = now() - interval '1 second' WHERE key = 'old'"
    )
    report = await Retention(engine, PostgresLogStore(engine), settings).run()
    assert report.as_dict()["removed"]["data_store_entries (expired)"] == 1  # type: ignore[index]
    assert await db.fetchval("SELECT array_agg(key) FROM data_store_entries") == ["kept"]


async def test_a_counter_of_whole_numbers_stays_a_whole_number(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    workspace = await create_workspace(db)
    async with engine.begin() as conn:
        await datastore.increment(conn, workspace, "n", 2)
        entry = await datastore.increment(conn, workspace, "n", 3)
    assert entry.value == 5
    assert isinstance(entry.value, int)
