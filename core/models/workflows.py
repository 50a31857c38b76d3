"""Workflow tables of the seed: workflows, workflow_versions, workflow_executions, step_executions.

Where a seed `@@index` and a "High Priority Indexes" entry cover the same columns (workflows.user_id,
workflow_executions.status, workflow_executions.created_at) one index exists, named as the High Priority
SQL names it: a second identical B-tree only slows every insert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import SQLModel

from core.models.columns import (
    bool_col,
    created_at_col,
    enum_col,
    fk_col,
    int_col,
    json_col,
    text_array_col,
    text_col,
    timestamp_col,
    updated_at_col,
    uuid_pk,
)
from core.models.enums import ExecutionStatus, TriggerType

__all__ = ["StepExecution", "Workflow", "WorkflowExecution", "WorkflowVersion"]


class Workflow(SQLModel, table=True):
    __tablename__ = "workflows"
    __table_args__ = (
        Index("workflows_workspace_id_idx", "workspace_id"),
        Index("idx_workflows_user", "user_id"),
        Index("workflows_is_active_idx", "is_active"),
        Index("idx_workflows_workspace_active", "workspace_id", "is_active"),
        Index("idx_workflows_last_executed", text("last_executed_at DESC")),
        # `baton workflows push` finds a workflow by its key (migration 0008)
        Index(
            "workflows_workspace_key_idx",
            "workspace_id",
            "key",
            unique=True,
            postgresql_where=text("key IS NOT NULL"),
        ),
    )

    id: str = uuid_pk()
    workspace_id: str = fk_col("workspaces.id", ondelete="CASCADE")
    user_id: str = fk_col("users.id", ondelete="RESTRICT")
    name: str = text_col()
    description: str | None = text_col(nullable=True)
    trigger_type: TriggerType = enum_col(TriggerType, "trigger_type")
    trigger_config: dict[str, Any] = json_col()
    connection_id: str | None = fk_col("connections.id", ondelete="SET NULL", nullable=True)
    steps: list[Any] = json_col()
    is_active: bool = bool_col(False)
    is_draft: bool = bool_col(True)
    version: int = int_col(1)
    tags: list[str] = text_array_col()
    folder: str | None = text_col(nullable=True)
    # A stable name of the workflow in its workspace, chosen by its author (a file name in a repository
    # of workflows as code): the same key names the same workflow in staging and in production.
    key: str | None = text_col(nullable=True)
    # Started when a run of this workflow ends FAILED or TIMEOUT (core.runs.alerts; migration 0009).
    error_workflow_id: str | None = fk_col("workflows.id", ondelete="SET NULL", nullable=True)
    # At most `limit` runs (per `key`, an expression over the trigger) past their start at once; the others
    # wait in arrival order (core.runs.concurrency; migration 0010). Not versioned: a change applies to the
    # runs that start after it.
    concurrency: dict[str, Any] | None = json_col(nullable=True)
    # Its runs' Temporal task queue priority, 1 (first) to 5 (last); unset: 3, Temporal's default.
    priority: int | None = int_col()
    # Its expressions fail on a missing path, naming it, instead of giving null (migration 0014). Not
    # versioned, like `concurrency`: a change applies to the runs that start after it.
    strict_expressions: bool = bool_col(False)
    total_executions: int = int_col(0)
    successful_executions: int = int_col(0)
    failed_executions: int = int_col(0)
    last_executed_at: datetime | None = timestamp_col()
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()
    published_at: datetime | None = timestamp_col()


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "version"),
        Index("workflow_versions_workflow_id_idx", "workflow_id"),
    )

    id: str = uuid_pk()
    workflow_id: str = fk_col("workflows.id", ondelete="CASCADE")
    version: int = int_col(required=True)
    name: str = text_col()
    description: str | None = text_col(nullable=True)
    trigger_type: TriggerType = enum_col(TriggerType, "trigger_type")
    trigger_config: dict[str, Any] = json_col()
    steps: list[Any] = json_col()
    change_description: str | None = text_col(nullable=True)
    created_at: datetime = created_at_col()
    created_by: str = text_col()


class WorkflowExecution(SQLModel, table=True):
    """One run. Its id is the Temporal workflow id's suffix (`run-{id}`)."""

    __tablename__ = "workflow_executions"
    __table_args__ = (
        Index("workflow_executions_workflow_id_idx", "workflow_id"),
        Index("idx_executions_status", "status"),
        Index("idx_executions_created", text("created_at DESC")),
        Index("idx_executions_workflow_created", "workflow_id", text("created_at DESC")),
    )

    id: str = uuid_pk()
    workflow_id: str = fk_col("workflows.id", ondelete="CASCADE")
    status: ExecutionStatus = enum_col(ExecutionStatus, "execution_status", ExecutionStatus.PENDING)
    trigger_data: Any = json_col()
    context: dict[str, Any] = json_col(server_default="{}")
    result: Any | None = json_col(nullable=True)
    error: str | None = text_col(nullable=True)
    started_at: datetime | None = timestamp_col()
    completed_at: datetime | None = timestamp_col()
    duration: int | None = int_col()
    retry_count: int = int_col(0)
    max_retries: int = int_col(3)
    created_at: datetime = created_at_col()


class StepExecution(SQLModel, table=True):
    __tablename__ = "step_executions"
    __table_args__ = (
        Index("step_executions_execution_id_idx", "execution_id"),
        Index("step_executions_waiting_idx", "execution_id", postgresql_where=text("state IS NOT NULL")),
    )

    id: str = uuid_pk()
    execution_id: str = fk_col("workflow_executions.id", ondelete="CASCADE")
    step_id: str = text_col()
    step_type: str = text_col()
    status: ExecutionStatus = enum_col(ExecutionStatus, "execution_status", ExecutionStatus.PENDING)
    input: Any = json_col()
    output: Any | None = json_col(nullable=True)
    error: str | None = text_col(nullable=True)
    started_at: datetime | None = timestamp_col()
    completed_at: datetime | None = timestamp_col()
    duration: int | None = int_col()
    retry_count: int = int_col(0)
    # Baton's: what the step is doing while it has not ended (core.runs.live), null once it ends.
    state: Any | None = json_col(nullable=True)
    # Baton's: the step id and its loop iteration path (`send/2`), for the run's timeline.
    step_key: str | None = text_col(nullable=True)
    # Baton's: where the step began in its run (the interpreter's count of steps started); rows written in
    # one workflow task share started_at, so run order is (started_at, sequence). NULL on older rows.
    sequence: int | None = int_col()
    created_at: datetime = created_at_col()
