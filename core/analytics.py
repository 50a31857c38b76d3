"""Analytics: the seed's `analytics_events`, folded into daily rows, read back as a workspace's report.

Raw events and `integration_usage` documents are kept 30 days; older days live on for a year as
`analytics_daily` rows (one per day, workspace, kind and subject). A report over any range reads the
aggregated days from `analytics_daily` and the recent ones from the raw documents, folded the same way, so
a figure does not change when its day is aggregated. Durations are counted in logarithmic buckets (10 %
wide), so percentiles over many days are read back from the buckets: within 5 % of the exact value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from core.models.enums import FAILED_STATUSES

# Event names (the seed's `workflow_executed`, and the failures behind "top failing steps").
WORKFLOW_EXECUTED = "workflow_executed"
STEP_FAILED = "step_failed"

# Kinds of daily rows, and what their `name` holds.
EXECUTIONS = "executions"  # name: the execution status
STEP_FAILURES = "step_failures"  # name: the step id
INTEGRATION_USAGE = "integration_usage"  # name: "integration.action"
# name: "provider:model" of the usage records that carry an LLM call's metadata; the row's histogram holds
# sums instead of duration buckets (MODEL_SUMS), so it is kept and merged like any other row.
MODEL_USAGE = "model_usage"
MODEL_SUMS = ("inputTokens", "outputTokens", "costMicroUsd", "unpriced")

BUCKET_BASE = 1.1
LOG_BASE = math.log(BUCKET_BASE)
RAW_DAYS = 30  # raw events and usage documents are aggregated, then removed, after this many days
AGGREGATE_DAYS = 365


def bucket_of(duration_ms: float) -> int:
    """The histogram bucket of a duration: floor(ln(ms + 1) / ln 1.1) (PostgreSQL and MongoDB compute the
    same expression when they fold raw documents)."""
    return math.floor(math.log(max(duration_ms, 0) + 1) / LOG_BASE)


def bucket_value(bucket: int) -> float:
    """The middle of a bucket (geometric), in milliseconds."""
    low, high = BUCKET_BASE**bucket - 1, BUCKET_BASE ** (bucket + 1) - 1
    return math.sqrt(max(low, 0.0) * high) if low > 0 else high / 2


def percentile(histogram: dict[str, int], fraction: float) -> float | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket in sorted(histogram, key=int):
        seen += histogram[bucket]
        if seen >= rank:
            return round(bucket_value(int(bucket)), 1)
    return None  # pragma: no cover - the loop always reaches the rank


@dataclass
class DailyRow:
    """One day of one kind of figure for one subject (the `analytics_daily` row)."""

    workspace_id: str
    day: date
    kind: str
    workflow_id: str
    name: str
    count: int = 0
    errors: int = 0
    duration_sum: int = 0
    histogram: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, date, str, str, str]:
        return (self.workspace_id, self.day, self.kind, self.workflow_id, self.name)

    def add(self, count: int, errors: int, duration_sum: int, histogram: dict[str, int]) -> None:
        self.count += count
        self.errors += errors
        self.duration_sum += duration_sum
        for bucket, n in histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0) + n


@dataclass(frozen=True)
class GroupedCount:
    """What a store's grouping query returns: `count` documents of one day, subject and duration bucket."""

    workspace_id: str
    day: date
    kind: str
    workflow_id: str
    name: str
    bucket: int | None
    count: int
    errors: int
    duration_sum: int
    # MODEL_USAGE groups: their MODEL_SUMS (see MODEL_USAGE)
    sums: dict[str, int] = field(default_factory=dict)


def fold(groups: Iterable[GroupedCount]) -> list[DailyRow]:
    rows: dict[tuple[str, date, str, str, str], DailyRow] = {}
    for group in groups:
        key = (group.workspace_id, group.day, group.kind, group.workflow_id, group.name)
        row = rows.get(key)
        if row is None:
            row = rows[key] = DailyRow(*key)
        row.add(
            group.count,
            group.errors,
            group.duration_sum,
            group.sums or ({str(group.bucket): group.count} if group.bucket is not None else {}),
        )
    return list(rows.values())


class AnalyticsSource(Protocol):
    async def aggregated_through(self) -> date | None: ...

    async def aggregates(self, workspace_id: str | None, since: date, until: date) -> list[DailyRow]: ...

    async def daily_rows(
        self, workspace_id: str | None, since: datetime, until: datetime
    ) -> list[DailyRow]: ...


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def rows_between(
    source: AnalyticsSource, workspace_id: str, since: date, until: date
) -> list[DailyRow]:
    """Daily rows for days in [since, until]: aggregated days from `analytics_daily`, the rest folded from
    the raw documents (never both for one day)."""
    end = until + timedelta(days=1)
    through = await source.aggregated_through()
    rows: list[DailyRow] = []
    raw_since = since
    if through is not None and through >= since:
        rows += await source.aggregates(workspace_id, since, min(end, through + timedelta(days=1)))
        raw_since = through + timedelta(days=1)
    if raw_since < end:
        rows += await source.daily_rows(workspace_id, day_start(raw_since), day_start(end))
    return rows


def _rate(errors: int, count: int) -> float:
    return round(errors / count, 4) if count else 0.0


def report(
    rows: list[DailyRow], since: date, until: date, names: dict[str, str], top: int = 10
) -> dict[str, Any]:
    """The analytics of a workspace over [since, until] (JSON-ready, camelCase)."""
    per_day: dict[date, dict[str, int]] = {
        since + timedelta(days=n): {} for n in range((until - since).days + 1)
    }
    workflows: dict[str, DailyRow] = {}
    failures_by_workflow: dict[str, int] = defaultdict(int)
    steps: dict[tuple[str, str], int] = defaultdict(int)
    integrations: dict[str, dict[str, DailyRow]] = defaultdict(dict)
    models: dict[str, DailyRow] = {}
    for row in rows:
        if row.kind == EXECUTIONS:
            statuses = per_day.setdefault(row.day, {})
            statuses[row.name] = statuses.get(row.name, 0) + row.count
            merged = workflows.setdefault(
                row.workflow_id, DailyRow("", row.day, EXECUTIONS, row.workflow_id, "")
            )
            failed = row.count if row.name in FAILED_STATUSES else 0
            merged.add(row.count, failed, row.duration_sum, row.histogram)
            failures_by_workflow[row.workflow_id] += failed
        elif row.kind == STEP_FAILURES:
            steps[(row.workflow_id, row.name)] += row.count
        elif row.kind == INTEGRATION_USAGE:
            integration, _, action = row.name.partition(".")
            merged = integrations[integration].setdefault(
                action, DailyRow("", row.day, INTEGRATION_USAGE, "", row.name)
            )
            merged.add(row.count, row.errors, row.duration_sum, row.histogram)
        elif row.kind == MODEL_USAGE:
            merged = models.setdefault(row.name, DailyRow("", row.day, MODEL_USAGE, "", row.name))
            merged.add(row.count, row.errors, 0, row.histogram)

    def workflow_figures(workflow_id: str, merged: DailyRow) -> dict[str, Any]:
        return {
            "workflowId": workflow_id,
            "name": names.get(workflow_id),
            "executions": merged.count,
            "failures": merged.errors,
            "failureRate": _rate(merged.errors, merged.count),
            "avgMs": round(merged.duration_sum / merged.count, 1) if merged.count else None,
            "p50Ms": percentile(merged.histogram, 0.50),
            "p95Ms": percentile(merged.histogram, 0.95),
        }

    by_workflow = sorted(
        (workflow_figures(workflow_id, merged) for workflow_id, merged in workflows.items()),
        key=lambda figures: (-figures["executions"], figures["workflowId"]),
    )
    usage = []
    for integration, actions in integrations.items():
        calls = sum(a.count for a in actions.values())
        errors = sum(a.errors for a in actions.values())
        usage.append(
            {
                "integrationId": integration,
                "calls": calls,
                "errors": errors,
                "errorRate": _rate(errors, calls),
                "actions": sorted(
                    (
                        {
                            "action": action,
                            "calls": a.count,
                            "errors": a.errors,
                            "errorRate": _rate(a.errors, a.count),
                            "p50Ms": percentile(a.histogram, 0.50),
                            "p95Ms": percentile(a.histogram, 0.95),
                        }
                        for action, a in actions.items()
                    ),
                    key=lambda figures: (-int(figures["calls"] or 0), str(figures["action"])),
                ),
            }
        )
    return {
        "from": since.isoformat(),
        "to": until.isoformat(),
        "totals": {
            "executions": sum(w["executions"] for w in by_workflow),
            "failures": sum(w["failures"] for w in by_workflow),
        },
        "executionsPerDay": [
            {
                "date": day.isoformat(),
                "total": sum(statuses.values()),
                "byStatus": dict(sorted(statuses.items())),
            }
            for day, statuses in sorted(per_day.items())
            if since <= day <= until
        ],
        "workflows": by_workflow,
        "topFailingWorkflows": sorted(
            (w for w in by_workflow if w["failures"]),
            key=lambda figures: (-figures["failures"], -figures["failureRate"], figures["workflowId"]),
        )[:top],
        "topFailingSteps": [
            {"workflowId": workflow_id, "name": names.get(workflow_id), "stepId": step_id, "failures": count}
            for (workflow_id, step_id), count in sorted(steps.items(), key=lambda item: (-item[1], item[0]))[
                :top
            ]
        ],
        "integrations": sorted(usage, key=lambda figures: (-figures["calls"], figures["integrationId"])),
        "models": sorted(
            (model_figures(name, merged) for name, merged in models.items()),
            key=lambda figures: (-figures["calls"], figures["provider"], figures["model"]),
        ),
    }


def model_figures(name: str, merged: DailyRow) -> dict[str, Any]:
    """Calls, tokens and cost of one provider's model (llm.* actions); the cost counts the priced calls
    only, `unpricedCalls` says how many had no known price."""
    provider, _, model = name.partition(":")
    sums = merged.histogram
    return {
        "provider": provider,
        "model": model,
        "calls": merged.count,
        "errors": merged.errors,
        "inputTokens": sums.get("inputTokens", 0),
        "outputTokens": sums.get("outputTokens", 0),
        "totalTokens": sums.get("inputTokens", 0) + sums.get("outputTokens", 0),
        "costUsd": round(sums.get("costMicroUsd", 0) / 1_000_000, 6),
        "unpricedCalls": sums.get("unpriced", 0),
    }


def executed_event(
    *,
    workspace_id: str,
    workflow_id: str,
    execution_id: str,
    status: str,
    duration: int | None,
    step_count: int,
    integrations: list[str],
    at: datetime,
) -> dict[str, Any]:
    """The seed's `workflow_executed` document."""
    return {
        "timestamp": at,
        "event": WORKFLOW_EXECUTED,
        "workspaceId": workspace_id,
        "workflowId": workflow_id,
        "properties": {
            "status": status,
            "duration": duration,
            "stepCount": step_count,
            "integrations": integrations,
            "executionId": execution_id,
        },
    }


def step_failed_event(
    *,
    workspace_id: str,
    workflow_id: str,
    execution_id: str,
    step_id: str,
    step_type: str,
    error: str | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "timestamp": at,
        "event": STEP_FAILED,
        "workspaceId": workspace_id,
        "workflowId": workflow_id,
        "properties": {"stepId": step_id, "stepType": step_type, "error": error, "executionId": execution_id},
    }
