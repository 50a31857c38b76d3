"""Keyset pagination over (created_at, id), newest first: stable under inserts, index-friendly."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import col
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


def newest_first(
    query: SelectOfScalar[T], created: Any, row_id: Any, cursor: tuple[datetime, str] | None, limit: int
) -> SelectOfScalar[T]:
    """`query` after the cursor's row, newest first, one row more than `limit` (to know if a page follows)."""
    if cursor is not None:
        last_created, last_id = cursor
        # `created <= last` first: an index condition, so a deep page starts its index scan at the cursor
        # instead of reading (and filtering out) every newer row before it.
        query = query.where(
            col(created) <= last_created,
            (col(created) < last_created) | (col(row_id) < last_id),
        )
    return query.order_by(col(created).desc(), col(row_id).desc()).limit(limit + 1)
