"""One contract for both log stores: PostgreSQL always, MongoDB when MONGODB_URL is set (the run's header
says which ran). Each test gets an empty store: this test's database, or a MongoDB database of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.analytics import (
    EXECUTIONS,
    INTEGRATION_USAGE,
    STEP_FAILURES,
    DailyRow,
    bucket_of,
    executed_event,
    percentile,
    step_failed_event,
)
from core.logstore import LogQuery, LogStore, MongoLogStore, PostgresLogStore

MONGODB_URL = os.environ.get("MONGODB_URL")
STORES = ["postgresql", "mongodb"]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, engine: AsyncEngine) -> AsyncIterator[LogStore]:
    if request.param == "postgresql":
        yield PostgresLogStore(engine)
        return
    if not MONGODB_URL:
        pytest.skip("MONGODB_URL is not set: the MongoDB log store is not exercised in this run")
    mongo = MongoLogStore(MONGODB_URL, f"baton_test_{uuid.uuid4().hex[:12]}")
    try:
        yield mongo
    finally:
        await mongo._client.drop_database(mongo.database.name)
        await mongo.close()


def log(execution: str, at: datetime, level: str = "info", step: str | None = None) -> dict[str, Any]:
    return {
        "executionId": execution,
        "workflowId": "wf",
        "timestamp": at,
        "level": level,
        "message": f"{level} at {at.isoformat()}",
        "stepId": step,
        "metadata": {"duration": 12, "input": {"a": 1}, "output": None},
    }


def usage(workspace: str, at: datetime, action: str, success: bool, duration: int) -> dict[str, Any]:
    return {
        "timestamp": at,
        "integrationId": action.split(".")[0],
        "connectionId": "c1",
        "action": action.split(".")[1],
        "workspaceId": workspace,
        "success": success,
        "duration": duration,
        "rateLimit": {"remaining": 9, "limit": 10, "reset": at},
        "executionId": None,
        "error": None if success else "ActionFailed",
    }


def run(workspace: str, workflow: str, at: datetime, status: str, duration: int) -> dict[str, Any]:
    return executed_event(
        workspace_id=workspace,
        workflow_id=workflow,
        execution_id=str(uuid.uuid4()),
        status=status,
        duration=duration,
        step_count=3,
        integrations=["slack"],
        at=at,
    )


async def test_logs_come_back_in_time_order_filtered_and_paged(store: LogStore) -> None:
    await store.ping()
    entries = [
        log("e1", NOW + timedelta(seconds=s), "error" if s == 3 else "info", f"s{s % 2}") for s in range(6)
    ]
    await store.write_logs(list(reversed(entries)) + [log("e2", NOW)])
    everything = await store.logs(LogQuery("e1"))
    assert [e["message"] for e in everything] == [e["message"] for e in entries]
    assert everything[0]["metadata"] == {"duration": 12, "input": {"a": 1}, "output": None}
    assert {e["executionId"] for e in everything} == {"e1"}
    assert [e["message"] for e in await store.logs(LogQuery("e1", level="error"))] == [entries[3]["message"]]
    assert len(await store.logs(LogQuery("e1", step_id="s1"))) == 3
    first = await store.logs(LogQuery("e1", limit=4))
    rest = await store.logs(LogQuery("e1", after=(first[-1]["timestamp"], first[-1]["id"])))
    assert [e["message"] for e in first + rest] == [e["message"] for e in entries]


async def test_raw_events_and_usage_fold_into_daily_rows(store: LogStore) -> None:
    day = NOW.date()
    await store.write_events(
        [
            run("w1", "a", NOW, "SUCCESS", 100),
            run("w1", "a", NOW + timedelta(minutes=1), "SUCCESS", 300),
            run("w1", "a", NOW + timedelta(minutes=2), "FAILED", 50),
            run("w1", "a", NOW + timedelta(days=1), "SUCCESS", 10),
            run("w2", "b", NOW, "SUCCESS", 10),  # another workspace
            step_failed_event(
                workspace_id="w1", workflow_id="a", execution_id="x", step_id="send", step_type="action",
                error="boom", at=NOW,
            ),
        ]
    )  # fmt: skip
    await store.write_usage(
        [
            usage("w1", NOW, "slack.send_message", True, 120),
            usage("w1", NOW, "slack.send_message", False, 80),
            usage("w1", NOW, "github.create_issue", True, 400),
            usage("w2", NOW, "slack.send_message", True, 1),
        ]
    )
    start = datetime.combine(day, datetime.min.time(), UTC)
    rows = {
        (r.kind, r.workflow_id, r.name): r
        for r in await store.daily_rows("w1", start, start + timedelta(days=1))
    }
    assert {r.day for r in rows.values()} == {day}
    assert {r.workspace_id for r in rows.values()} == {"w1"}
    success = rows[(EXECUTIONS, "a", "SUCCESS")]
    assert (success.count, success.errors, success.duration_sum) == (2, 0, 400)
    assert success.histogram == {str(bucket_of(100)): 1, str(bucket_of(300)): 1}
    failed = rows[(EXECUTIONS, "a", "FAILED")]
    assert (failed.count, failed.errors) == (1, 1)
    assert rows[(STEP_FAILURES, "a", "send")].count == 1
    slack = rows[(INTEGRATION_USAGE, "", "slack.send_message")]
    assert (slack.count, slack.errors, slack.duration_sum) == (2, 1, 200)
    assert rows[(INTEGRATION_USAGE, "", "github.create_issue")].count == 1
    assert len(rows) == 5
    everyone = await store.daily_rows(None, start, start + timedelta(days=2))
    assert {r.workspace_id for r in everyone} == {"w1", "w2"}
    assert sum(r.count for r in everyone if r.kind == EXECUTIONS) == 5
    assert await store.oldest_raw() == NOW


async def test_daily_aggregates_are_replaced_not_added_and_read_by_range(store: LogStore) -> None:
    assert await store.aggregated_through() is None
    day = date(2026, 1, 10)
    row = DailyRow("w1", day, EXECUTIONS, "a", "SUCCESS", 3, 0, 600, {"48": 3})
    await store.write_aggregates(
        [row, DailyRow("w1", day + timedelta(days=1), EXECUTIONS, "a", "FAILED", 1, 1, 5)]
    )
    await store.write_aggregates([DailyRow("w1", day, EXECUTIONS, "a", "SUCCESS", 4, 0, 800, {"48": 4})])
    await store.write_aggregates([DailyRow("w2", day, INTEGRATION_USAGE, "", "slack.send_message", 2, 1, 10)])
    assert await store.aggregated_through() == day + timedelta(days=1)
    first_day = await store.aggregates("w1", day, day + timedelta(days=1))
    assert [(r.name, r.count, r.duration_sum, r.histogram) for r in first_day] == [
        ("SUCCESS", 4, 800, {"48": 4})
    ]
    assert len(await store.aggregates("w1", day, day + timedelta(days=2))) == 2
    assert len(await store.aggregates(None, day, day + timedelta(days=2))) == 3


async def test_purge_counts_then_removes_only_what_is_older_in_batches(store: LogStore) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    await store.write_logs([log("e", old) for _ in range(5)] + [log("e", recent)])
    await store.write_events(
        [run("w", "a", old, "SUCCESS", 1) for _ in range(3)] + [run("w", "a", recent, "SUCCESS", 1)]
    )
    await store.write_usage(
        [usage("w", old, "slack.send_message", True, 1), usage("w", recent, "slack.x", True, 1)]
    )
    await store.write_aggregates([DailyRow("w", date(2025, 1, 1), EXECUTIONS, "a", "SUCCESS", 1, 0, 1)])
    cutoff = NOW - timedelta(days=30)
    assert await store.purge("execution_logs", cutoff, batch=2, dry_run=True) == 5
    assert len(await store.logs(LogQuery("e"))) == 6
    assert await store.purge("execution_logs", cutoff, batch=2, dry_run=False) == 5
    assert [e["timestamp"] for e in await store.logs(LogQuery("e"))] == [recent]
    assert await store.purge("analytics_events", cutoff, batch=2, dry_run=False) == 3
    assert await store.purge("integration_usage", cutoff, batch=2, dry_run=False) == 1
    assert await store.oldest_raw() == recent
    assert await store.purge("analytics_daily", date(2025, 1, 2), batch=2, dry_run=False) == 1
    assert await store.aggregated_through() is None
    with pytest.raises(KeyError):
        await store.purge("workflows", cutoff, batch=2, dry_run=True)


@pytest.mark.parametrize("store", ["mongodb"], indirect=True)  # PostgreSQL's: see the schema tests
async def test_mongodb_has_the_seed_indexes_and_ttl_indexes(store: LogStore) -> None:
    assert isinstance(store, MongoLogStore)
    await store.ensure_indexes()
    logs = await store.database["execution_logs"].index_information()
    keys = {tuple(spec["key"]) for spec in logs.values()}
    assert (("executionId", 1), ("timestamp", 1)) in keys
    assert (("workflowId", 1), ("timestamp", -1)) in keys
    assert logs["timestamp_ttl"]["expireAfterSeconds"] == 30 * 86_400
    events = await store.database["analytics_events"].index_information()
    assert {tuple(spec["key"]) for spec in events.values()} >= {
        (("workspaceId", 1), ("timestamp", -1)),
        (("event", 1), ("timestamp", -1)),
    }
    usage_indexes = await store.database["integration_usage"].index_information()
    assert {tuple(spec["key"]) for spec in usage_indexes.values()} >= {
        (("integrationId", 1), ("timestamp", -1)),
        (("workspaceId", 1), ("timestamp", -1)),
    }


def test_percentiles_read_from_buckets_are_within_five_percent() -> None:
    durations = list(range(1, 2001))
    histogram: dict[str, int] = {}
    for d in durations:
        histogram[str(bucket_of(d))] = histogram.get(str(bucket_of(d)), 0) + 1
    for fraction, exact in ((0.5, 1000), (0.95, 1900)):
        estimate = percentile(histogram, fraction)
        assert estimate is not None
        assert abs(estimate - exact) / exact <= 0.05
    assert percentile({}, 0.5) is None
