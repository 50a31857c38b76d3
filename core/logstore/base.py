"""The log store's interface: what a backend keeps (the seed's documents) and answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from core.analytics import (
    DailyRow,
)
from core.settings import Settings

EVENT_FIELDS = {
    "timestamp": "timestamp",
    "event": "event",
    "workspaceId": "workspace_id",
    "workflowId": "workflow_id",
    "properties": "properties",
}
# What retention removes, and the time field it goes by (analytics_daily: the day).
PURGEABLE = {
    "execution_logs": "timestamp",
    "analytics_events": "timestamp",
    "integration_usage": "timestamp",
    "analytics_daily": "day",
}
LOG_FIELDS = {
    "id": "id",
    "executionId": "execution_id",
    "workflowId": "workflow_id",
    "timestamp": "timestamp",
    "level": "level",
    "message": "message",
    "stepId": "step_id",
    "metadata": "metadata",
}


@dataclass(frozen=True)
class LogRetention:
    """How long the log store keeps things (the seed's data retention policy)."""

    execution_log_days: int = 30
    analytics_raw_days: int = 30
    analytics_days: int = 365

    @classmethod
    def from_settings(cls, settings: Settings) -> LogRetention:
        return cls(
            settings.execution_log_retention_days,
            settings.analytics_raw_days,
            settings.analytics_retention_days,
        )


@dataclass(frozen=True)
class LogQuery:
    """Which of an execution's log entries to read: in time order, after `after` ((timestamp, id))."""

    execution_id: str
    level: str | None = None
    step_id: str | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


# The seed's `integration_usage` fields and their columns.
USAGE_FIELDS = {
    "timestamp": "timestamp",
    "integrationId": "integration_id",
    "connectionId": "connection_id",
    "action": "action",
    "workspaceId": "workspace_id",
    "success": "success",
    "duration": "duration",
    "rateLimit": "rate_limit",
    "executionId": "execution_id",
    "error": "error",
    "metadata": "metadata",
}


class LogStore(Protocol):
    kind: str

    async def ping(self) -> None:
        """Raises when the store cannot be reached."""

    async def write_usage(self, documents: list[dict[str, Any]]) -> None:
        """Appends `integration_usage` documents."""

    async def write_logs(self, documents: list[dict[str, Any]]) -> None:
        """Appends `execution_logs` documents."""

    async def write_events(self, documents: list[dict[str, Any]]) -> None:
        """Appends `analytics_events` documents."""

    async def logs(self, query: LogQuery) -> list[dict[str, Any]]:
        """Entries of one execution in time order (each with its `id`), at most `query.limit`."""

    async def daily_rows(self, workspace_id: str | None, since: datetime, until: datetime) -> list[DailyRow]:
        """Raw events and usage documents in [since, until) folded into daily rows (None: every workspace)."""

    async def aggregates(self, workspace_id: str | None, since: date, until: date) -> list[DailyRow]:
        """`analytics_daily` rows for days in [since, until)."""

    async def write_aggregates(self, rows: list[DailyRow]) -> None:
        """Writes daily rows, replacing any already there for the same day and subject."""

    async def aggregated_through(self) -> date | None:
        """The newest day kept as daily rows (raw documents are read for the days after it)."""

    async def oldest_raw(self) -> datetime | None:
        """When the oldest raw analytics event or usage document was written."""

    async def purge(self, collection: str, before: datetime | date, *, batch: int, dry_run: bool) -> int:
        """Removes (or, dry, counts) the documents of a `PURGEABLE` collection older than `before`, in
        batches of at most `batch`."""

    async def close(self) -> None: ...


def without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != name}


def jsonable(value: Any) -> Any:
    """JSONB takes no datetimes: nested times (rateLimit.reset) are stored as ISO text."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
