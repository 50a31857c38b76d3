"""Cursor pagination (`?limit=` and `?cursor=`): the cursor encodes the last row's (time, id)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Query

from core.errors import BatonError


class InvalidCursor(BatonError):
    status_code = 400
    kind = "bad_request"


class Paged(Protocol):
    created_at: datetime
    id: str


Row = TypeVar("Row", bound=Paged)
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (default 50, at most 200)")]
Cursor = Annotated[str | None, Query(description="`nextCursor` of the previous page")]


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        created, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), row_id
    except ValueError as exc:
        raise InvalidCursor(
            "invalid cursor; pass the `nextCursor` of the previous page", path="cursor"
        ) from exc


def encode_cursor(at: datetime, row_id: str) -> str:
    """The cursor of the row after which the next page starts (read back by `decode_cursor`)."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def page(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """The first `limit` rows and the cursor of the next page (rows were fetched with limit + 1)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)
