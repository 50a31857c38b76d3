"""User management tables of the seed: users, workspaces, workspace_members, api_keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import SQLModel

from core.models.base import metadata
from core.models.columns import (
    bool_col,
    created_at_col,
    enum_col,
    fk_col,
    int_col,
    text_array_col,
    text_col,
    timestamp_col,
    updated_at_col,
    uuid_pk,
)
from core.models.enums import Plan, WorkspaceRole

__all__ = ["ApiKey", "User", "Workspace", "WorkspaceMember", "metadata"]


class User(SQLModel, table=True):
    """`@@index([email])` is served by the unique index `users_email_key` (an identical one is waste)."""

    __tablename__ = "users"

    id: str = uuid_pk()
    email: str = text_col(unique=True)
    password_hash: str = text_col()
    first_name: str = text_col()
    last_name: str = text_col()
    email_verified: bool = bool_col(False)
    is_active: bool = bool_col(True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()
    last_login_at: datetime | None = timestamp_col()


class Workspace(SQLModel, table=True):
    """`@@index([slug])` is served by the unique index `workspaces_slug_key`."""

    __tablename__ = "workspaces"

    id: str = uuid_pk()
    name: str = text_col()
    slug: str = text_col(unique=True)
    plan: Plan = enum_col(Plan, "plan", Plan.FREE)
    max_workflows: int = int_col(5)
    max_executions: int = int_col(1000)
    # The error workflow of the workspace's workflows that name none (core.runs.alerts; migration 0009).
    error_workflow_id: str | None = text_col(nullable=True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class WorkspaceMember(SQLModel, table=True):
    __tablename__ = "workspace_members"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id"),
        Index("workspace_members_workspace_id_idx", "workspace_id"),
        Index("workspace_members_user_id_idx", "user_id"),
    )

    id: str = uuid_pk()
    workspace_id: str = fk_col("workspaces.id", ondelete="CASCADE")
    user_id: str = fk_col("users.id", ondelete="CASCADE")
    role: WorkspaceRole = enum_col(WorkspaceRole, "workspace_role", WorkspaceRole.MEMBER)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()


class ApiKey(SQLModel, table=True):
    """`key` holds a hash of the secret, not the secret; `@@index([key])` is served by `api_keys_key_key`."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("api_keys_user_id_idx", "user_id"),)

    id: str = uuid_pk()
    user_id: str = fk_col("users.id", ondelete="CASCADE")
    name: str = text_col()
    key: str = text_col(unique=True)
    scopes: list[str] = text_array_col()
    is_active: bool = bool_col(True)
    last_used_at: datetime | None = timestamp_col()
    expires_at: datetime | None = timestamp_col()
    created_at: datetime = created_at_col()
