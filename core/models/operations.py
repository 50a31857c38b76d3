"""The seed's remaining tables: webhooks, workflow_templates, audit_logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

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
from core.models.enums import TriggerType

__all__ = ["AuditLog", "ConcurrencySlot", "PollState", "Webhook", "WorkflowTemplate"]


class Webhook(SQLModel, table=True):
    """The seed gives `workflowId` no relation; we add `ON DELETE CASCADE` so a deleted workflow's hook dies
    with it instead of answering for a workflow that no longer exists. `@@index([token])` is served by the
    unique index `webhooks_token_key`."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("webhooks_workflow_id_idx", "workflow_id"),)

    id: str = uuid_pk()
    workflow_id: str = fk_col("workflows.id", ondelete="CASCADE")
    url: str = text_col(unique=True)
    token: str = text_col(unique=True)
    secret: str | None = text_col(nullable=True)
    # How calls are signed (core.triggers.signatures.SCHEMES); not in the seed.
    signature_scheme: str = Field(
        default="baton-v1", sa_type=Text, nullable=False, sa_column_kwargs={"server_default": "baton-v1"}
    )
    is_active: bool = bool_col(True)
    total_calls: int = int_col(0)
    last_called_at: datetime | None = timestamp_col()
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class WorkflowTemplate(SQLModel, table=True):
    __tablename__ = "workflow_templates"

    id: str = uuid_pk()
    name: str = text_col()
    description: str = text_col()
    category: str = text_col()
    trigger_type: TriggerType = enum_col(TriggerType, "trigger_type")
    trigger_config: dict[str, Any] = json_col()
    steps: list[Any] = json_col()
    icon: str | None = text_col(nullable=True)
    tags: list[str] = text_array_col()
    is_popular: bool = bool_col(False)
    usage_count: int = int_col(0)
    required_integrations: list[str] = text_array_col()
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class AuditLog(SQLModel, table=True):
    """No foreign keys on purpose (as in the seed): the trail outlives the users and workspaces it names.

    `@@index([entityType, entityId])` is the High Priority `idx_audit_entity`.
    """

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("audit_logs_user_id_idx", "user_id"),
        Index("audit_logs_workspace_id_idx", "workspace_id"),
        Index("idx_audit_entity", "entity_type", "entity_id"),
        Index("audit_logs_created_at_idx", "created_at"),
        Index("idx_audit_workspace_created", "workspace_id", text("created_at DESC")),
    )

    id: str = uuid_pk()
    user_id: str | None = text_col(nullable=True)
    workspace_id: str | None = text_col(nullable=True)
    action: str = text_col()
    entity_type: str = text_col()
    entity_id: str | None = text_col(nullable=True)
    changes: Any | None = json_col(nullable=True)
    # `metadata` is reserved on SQLAlchemy models: the attribute is `metadata_`, the column keeps its name.
    metadata_: Any | None = Field(default=None, sa_column=Column("metadata", JSONB, nullable=True))
    ip_address: str | None = text_col(nullable=True)
    user_agent: str | None = text_col(nullable=True)
    created_at: datetime = created_at_col()


class PollState(SQLModel, table=True):
    """Baton's own table (not in the seed): where each POLLING workflow's poller stands, so a worker restart,
    a deactivation or a new published version neither re-fires nor drops items. `seen_ids` is bounded (the
    most recent item ids, newest last); `cursor` is whatever the trigger's poll function returned last."""

    __tablename__ = "poll_states"

    workflow_id: str = Field(
        sa_type=Text,
        primary_key=True,
        sa_column_args=[ForeignKey("workflows.id", ondelete="CASCADE", onupdate="CASCADE")],
    )
    trigger_id: str = text_col()
    cursor: dict[str, Any] = json_col(server_default="{}")
    seen_ids: list[Any] = Field(
        default_factory=list,
        sa_type=JSONB,
        nullable=False,
        sa_column_kwargs={"server_default": text("'[]'::jsonb")},
    )
    baseline_at: datetime | None = timestamp_col()
    last_polled_at: datetime | None = timestamp_col()
    last_error: str | None = text_col(nullable=True)
    fired_total: int = int_col(0)
    updated_at: datetime = updated_at_col()


class ConcurrencySlot(SQLModel, table=True):
    """Baton's own table (not in the seed): the runs of workflows with a `concurrency` limit that hold a slot
    or wait for one, per (workflow, key), in arrival order (`seq`). The first `slot_limit` rows of a key
    hold its slots; a row goes when its run ends (core.runs.concurrency)."""

    __tablename__ = "concurrency_slots"
    __table_args__ = (Index("concurrency_slots_queue_idx", "workflow_id", "slot_key", "seq"),)

    # no foreign key: workflow_executions may be partitioned (core.ops.partitions); a row whose run is gone
    # counts as released (core.runs.concurrency), and a deleted workflow's rows go with it
    execution_id: str = Field(sa_type=Text, primary_key=True)
    workflow_id: str = fk_col("workflows.id", ondelete="CASCADE")
    slot_key: str = text_col()
    slot_limit: int = int_col(required=True)
    seq: int = Field(sa_column=Column(BigInteger, Identity(always=True), nullable=False, unique=True))
    enqueued_at: datetime = created_at_col()
