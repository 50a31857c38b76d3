"""The seed's MongoDB collections as PostgreSQL tables, for installations without MONGODB_URL.

Same documents, field for field (camelCase fields become snake_case columns, nested objects JSONB), same
indexes. No foreign keys: the log store lives apart from the state and outlives what it mentions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Index, PrimaryKeyConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from core.models.columns import bool_col, created_at_col, int_col, json_col, text_col, uuid_pk

__all__ = ["AnalyticsDaily", "AnalyticsEvent", "ExecutionLog", "IntegrationUsage"]


class IntegrationUsage(SQLModel, table=True):
    """One call of an action on an integration (the seed's `integration_usage` document)."""

    __tablename__ = "integration_usage"
    __table_args__ = (
        Index("integration_usage_integration_id_timestamp_idx", "integration_id", text("timestamp DESC")),
        Index("integration_usage_workspace_id_timestamp_idx", "workspace_id", text("timestamp DESC")),
        Index("integration_usage_timestamp_idx", "timestamp"),
    )

    id: str = uuid_pk()
    timestamp: datetime = created_at_col()
    integration_id: str = text_col()
    connection_id: str | None = text_col(nullable=True)
    action: str = text_col()
    workspace_id: str | None = text_col(nullable=True)
    success: bool = bool_col(True)
    duration: int = int_col(0)  # milliseconds
    rate_limit: dict[str, Any] | None = json_col(nullable=True)
    # Baton's additions: which run made the call, and the error type when it failed.
    execution_id: str | None = text_col(nullable=True)
    error: str | None = text_col(nullable=True)
    # What a call consumed besides itself: an LLM call's provider, model, tokens and cost (llm.*).
    metadata_: dict[str, Any] | None = Field(default=None, sa_column=Column("metadata", JSONB, nullable=True))


class ExecutionLog(SQLModel, table=True):
    """One line of a run's log (the seed's `execution_logs` document)."""

    __tablename__ = "execution_logs"
    __table_args__ = (
        Index("execution_logs_execution_id_timestamp_idx", "execution_id", "timestamp"),
        Index("execution_logs_workflow_id_timestamp_idx", "workflow_id", text("timestamp DESC")),
        Index("execution_logs_timestamp_idx", "timestamp"),
    )

    id: str = uuid_pk()
    execution_id: str = text_col()
    workflow_id: str | None = text_col(nullable=True)
    timestamp: datetime = created_at_col()
    level: str = text_col()  # info | warn | error
    message: str = text_col()
    step_id: str | None = text_col(nullable=True)
    metadata_: dict[str, Any] | None = Field(default=None, sa_column=Column("metadata", JSONB, nullable=True))


class AnalyticsEvent(SQLModel, table=True):
    """Something worth counting happened (the seed's `analytics_events` document): `workflow_executed`,
    `step_failed`."""

    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("analytics_events_workspace_id_timestamp_idx", "workspace_id", text("timestamp DESC")),
        Index("analytics_events_event_timestamp_idx", "event", text("timestamp DESC")),
        Index("analytics_events_timestamp_idx", "timestamp"),
    )

    id: str = uuid_pk()
    timestamp: datetime = created_at_col()
    event: str = text_col()
    workspace_id: str = text_col()
    workflow_id: str | None = text_col(nullable=True)
    properties: dict[str, Any] = json_col(server_default="{}")


class AnalyticsDaily(SQLModel, table=True):
    """Analytics older than 30 days, kept for a year as one row per day, workspace, kind and subject.

    `kind` is `executions` (name: the status), `step_failures` (name: the step id) or `integration_usage`
    (name: `integration.action`); `histogram` counts durations in logarithmic buckets (core.analytics), so
    percentiles over any range can be read back from the days it spans.
    """

    __tablename__ = "analytics_daily"
    __table_args__ = (
        PrimaryKeyConstraint(
            "workspace_id", "day", "kind", "workflow_id", "name", name="analytics_daily_pkey"
        ),
        Index("analytics_daily_day_idx", "day"),
    )

    workspace_id: str = text_col()
    day: date = Field(sa_type=Date, nullable=False)
    kind: str = text_col()
    workflow_id: str = text_col(default="")  # "" when the row is about no workflow (integration usage)
    name: str = text_col()
    count: int = int_col(0)
    errors: int = int_col(0)
    duration_sum: int = Field(default=0, sa_type=BigInteger, nullable=False)
    histogram: dict[str, int] = json_col(server_default="{}")
