"""Integration tables of the seed: integrations, connections, triggers, actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import SQLModel

from core.models.columns import (
    bool_col,
    created_at_col,
    enum_col,
    fk_col,
    int_col,
    json_col,
    text_col,
    text_pk,
    timestamp_col,
    updated_at_col,
    uuid_pk,
)
from core.models.enums import AuthType, TestStatus, TriggerType

__all__ = ["Action", "Connection", "Integration", "Trigger"]


class Integration(SQLModel, table=True):
    """Written by `baton seed` from the declarations in `integrations/`, never by hand."""

    __tablename__ = "integrations"

    id: str = text_pk()
    name: str = text_col()
    description: str = text_col()
    icon: str = text_col()
    category: str = text_col()
    auth_type: AuthType = enum_col(AuthType, "auth_type")
    is_active: bool = bool_col(True)
    is_popular: bool = bool_col(False)
    docs_url: str | None = text_col(nullable=True)
    website_url: str | None = text_col(nullable=True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class Connection(SQLModel, table=True):
    """`credentials`, `access_token` and `refresh_token` hold ciphertext only.

    `@@index([workspaceId])` is the High Priority `idx_connections_workspace` (same column, one index).
    """

    __tablename__ = "connections"
    __table_args__ = (
        Index("connections_user_id_idx", "user_id"),
        Index("idx_connections_workspace", "workspace_id"),
        Index("connections_integration_id_idx", "integration_id"),
        Index("idx_connections_user_integration", "user_id", "integration_id"),
    )

    id: str = uuid_pk()
    user_id: str = fk_col("users.id", ondelete="CASCADE")
    workspace_id: str = fk_col("workspaces.id", ondelete="CASCADE")
    integration_id: str = fk_col("integrations.id", ondelete="RESTRICT")
    name: str = text_col()
    credentials: dict[str, Any] = json_col()
    access_token: str | None = text_col(nullable=True)
    refresh_token: str | None = text_col(nullable=True)
    expires_at: datetime | None = timestamp_col()
    is_active: bool = bool_col(True)
    last_tested_at: datetime | None = timestamp_col()
    test_status: TestStatus = enum_col(TestStatus, "test_status", TestStatus.PENDING)
    # Baton's addition: {"limit": N, "windowSeconds": S}, lower than the integration's own limit.
    rate_limit: dict[str, Any] | None = json_col(nullable=True)
    # who an OAuth2 connection acts for, as its provider says (an email or login; not a secret)
    connected_as: str | None = text_col(nullable=True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class Trigger(SQLModel, table=True):
    __tablename__ = "triggers"
    __table_args__ = (Index("triggers_integration_id_idx", "integration_id"),)

    id: str = text_pk()
    integration_id: str = fk_col("integrations.id", ondelete="RESTRICT")
    name: str = text_col()
    description: str = text_col()
    type: TriggerType = enum_col(TriggerType, "trigger_type")
    config_schema: dict[str, Any] = json_col()
    polling_interval: int | None = int_col()
    is_active: bool = bool_col(True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class Action(SQLModel, table=True):
    __tablename__ = "actions"
    __table_args__ = (Index("actions_integration_id_idx", "integration_id"),)

    id: str = text_pk()
    integration_id: str = fk_col("integrations.id", ondelete="RESTRICT")
    name: str = text_col()
    description: str = text_col()
    input_schema: dict[str, Any] = json_col()
    output_schema: dict[str, Any] = json_col()
    is_active: bool = bool_col(True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()
