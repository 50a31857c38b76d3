"""Baton's own table for state kept between runs: the workspace data store (core.datastore)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text, text
from sqlmodel import Field, SQLModel

from core.models.columns import created_at_col, int_col, json_col, timestamp_col, updated_at_col

__all__ = ["DataStoreEntry"]


class DataStoreEntry(SQLModel, table=True):
    """One key of a workspace's data store. `namespace` '' holds the keys steps and the API name; the
    "only new items" action keeps the items it has seen under `seen:<workflow id>` (or `seen:` for the
    whole workspace). A row past `expires_at` reads as absent until the retention sweep removes it.
    `last_operation` is the idempotency key of the step that wrote it last, so a retried increment does
    not count twice."""

    __tablename__ = "data_store_entries"
    __table_args__ = (
        Index(
            "data_store_entries_expires_at_idx",
            "expires_at",
            postgresql_where=text("expires_at IS NOT NULL"),
        ),
    )

    workspace_id: str = Field(
        sa_type=Text,
        primary_key=True,
        sa_column_args=[ForeignKey("workspaces.id", ondelete="CASCADE", onupdate="CASCADE")],
    )
    namespace: str = Field(default="", sa_type=Text, primary_key=True)
    key: str = Field(sa_type=Text, primary_key=True)
    value: Any = json_col()
    size: int = int_col(0)  # bytes of the value's JSON text, for the workspace's byte limit
    version: int = int_col(1)
    expires_at: datetime | None = timestamp_col()
    last_operation: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime = created_at_col()
    updated_at: datetime = updated_at_col()
