"""The seed's MongoDB collections as PostgreSQL tables, for installations without MONGODB_URL.

Same documents, field for field (camelCase fields become snake_case columns, nested objects JSONB), same
indexes. No foreign keys: the log store lives apart from the state and outlives what it mentions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from core.models.columns import bool_col, created_at_col, int_col, json_col, text_col, uuid_pk

__all__ = ["ExecutionLog", "IntegrationUsage"]


class IntegrationUsage(SQLModel, table=True):
    """One call of an action on an integration (the seed's `integration_usage` document)."""

    __tablename__ = "integration_usage"
    __table_args__ = (
        Index("integration_usage_integration_id_timestamp_idx", "integration_id", text("timestamp DESC")),
        Index("integration_usage_workspace_id_timestamp_idx", "workspace_id", text("timestamp DESC")),
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


class ExecutionLog(SQLModel, table=True):
    """One line of a run's log (the seed's `execution_logs` document)."""

    __tablename__ = "execution_logs"
    __table_args__ = (
        Index("execution_logs_execution_id_timestamp_idx", "execution_id", "timestamp"),
        Index("execution_logs_workflow_id_timestamp_idx", "workflow_id", text("timestamp DESC")),
    )

    id: str = uuid_pk()
    execution_id: str = text_col()
    workflow_id: str | None = text_col(nullable=True)
    timestamp: datetime = created_at_col()
    level: str = text_col()  # info | warn | error
    message: str = text_col()
    step_id: str | None = text_col(nullable=True)
    metadata_: dict[str, Any] | None = Field(default=None, sa_column=Column("metadata", JSONB, nullable=True))
