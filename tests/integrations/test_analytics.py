"""`GET /workspaces/{id}/analytics`: runs per day by status, durations, what fails, integration usage, from
the `workflow_executed`/`step_failed` events and `integration_usage` the worker writes; the same figures
after the retention run has folded those days into daily aggregates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.logstore import PostgresLogStore
from core.ops.retention import Retention
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio


async def analytics(studio: Studio, **params: str) -> dict[str, Any]:
    answer = await studio.client.get(f"{studio.base}/analytics", headers=studio.headers, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def without_dates(report: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: v for k, v in report.items() if k not in ("from", "to", "executionsPerDay")},
        "days": [
            {k: v for k, v in day.items() if k != "date"}
            for day in report["executionsPerDay"]
            if day["total"]
        ],
    }


async def test_analytics_count_runs_failures_durations_and_usage_then_survive_aggregation(
    studio: Studio, http_server: ScriptedServer, settings: Settings, engine: AsyncEngine
) -> None:
    url = http_server.script("/ping", *[Reply(200, {"ok": True})] * 3)
    steady = await studio.publish(
        [
            {"id": "call", "type": "action", "action": "http.request", "input": {"url": url}},
            {"id": "note", "type": "set", "values": {"done": True}},
        ]
    )
    flaky = await studio.publish(
        [{"id": "parse", "type": "action", "action": "transform.parse_json", "input": {"text": "{"}}]
    )
    for _ in range(3):
        assert (await studio.run(steady))["status"] == "SUCCESS"
    for _ in range(2):
        assert (await studio.run(flaky))["status"] == "FAILED"
    assert studio.engine.writers is not None
    await studio.engine.writers.flush()

    event = await studio.db.fetchrow(
        "SELECT * FROM analytics_events WHERE workflow_id = $1 AND event = 'workflow_executed' LIMIT 1",
        steady,
    )
    assert event is not None
    properties = json.loads(event["properties"])
    assert properties["status"] == "SUCCESS"
    assert properties["stepCount"] == 2
    assert properties["integrations"] == ["http"]
    assert properties["duration"] >= 0

    report = await analytics(studio)
    today = datetime.now(UTC).date()
    assert report["to"] == today.isoformat()
    assert len(report["executionsPerDay"]) == 30
    assert report["executionsPerDay"][-1] == {
        "date": today.isoformat(),
        "total": 5,
        "byStatus": {"FAILED": 2, "SUCCESS": 3},
    }
    assert report["totals"] == {"executions": 5, "failures": 2}
    by_id = {w["workflowId"]: w for w in report["workflows"]}
    assert by_id[steady]["executions"] == 3
    assert by_id[steady]["failures"] == 0
    assert by_id[steady]["p50Ms"] is not None
    assert by_id[steady]["p95Ms"] >= by_id[steady]["p50Ms"]
    assert by_id[steady]["name"].startswith("wf-")
    assert [(w["workflowId"], w["failures"], w["failureRate"]) for w in report["topFailingWorkflows"]] == [
        (flaky, 2, 1.0)
    ]
    assert [(s["workflowId"], s["stepId"], s["failures"]) for s in report["topFailingSteps"]] == [
        (flaky, "parse", 2)
    ]
    integrations = {i["integrationId"]: i for i in report["integrations"]}
    assert (integrations["http"]["calls"], integrations["http"]["errors"]) == (3, 0)
    assert (integrations["transform"]["calls"], integrations["transform"]["errors"]) == (2, 2)
    assert integrations["transform"]["errorRate"] == 1.0
    assert integrations["http"]["actions"][0]["action"] == "request"

    # Forty days later: the retention run folds those days into analytics_daily and removes the raw rows;
    # the report over the same days does not change.
    for table in ("analytics_events", "integration_usage"):
        await studio.db.execute(f"UPDATE {table} SET timestamp = timestamp - interval '40 days'")
    then = today - timedelta(days=40)
    before = await analytics(
        studio, **{"from": (then - timedelta(days=1)).isoformat(), "to": then.isoformat()}
    )
    assert before["totals"] == {"executions": 5, "failures": 2}
    result = await Retention(engine, PostgresLogStore(engine), settings).run()
    assert result.aggregated_days >= 1
    assert await studio.db.fetchval("SELECT count(*) FROM analytics_events") == 0
    assert await studio.db.fetchval("SELECT count(*) FROM integration_usage") == 0
    after = await analytics(
        studio, **{"from": (then - timedelta(days=1)).isoformat(), "to": then.isoformat()}
    )
    assert without_dates(after) == without_dates(before)
    assert (await analytics(studio))["totals"] == {"executions": 0, "failures": 0}


async def test_analytics_refuse_a_backwards_or_too_long_range(studio: Studio) -> None:
    backwards = await studio.client.get(
        f"{studio.base}/analytics", headers=studio.headers, params={"from": "2026-02-02", "to": "2026-02-01"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["path"] == "from"
    too_long = await studio.client.get(
        f"{studio.base}/analytics", headers=studio.headers, params={"from": "2020-01-01", "to": "2026-01-01"}
    )
    assert too_long.status_code == 422
    assert too_long.json()["path"] == "from"
    not_a_date = await studio.client.get(
        f"{studio.base}/analytics", headers=studio.headers, params={"to": "soon"}
    )
    assert not_a_date.status_code == 422
