"""Cursor pagination (`?limit=` and `?cursor=`): the cursor encodes the last row's (time, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Query

from core.errors import BatonError
from core.live import decode_position, encode_position


class InvalidCursor(BatonError, status=400, kind="bad_request"):
    """A pagination cursor this API did not hand out."""


class Paged(Protocol):
    created_at: datetime
    id: str


Row = TypeVar("Row", bound=Paged)
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (default 50, at most 200)")]
Cursor = Annotated[str | None, Query(description="`nextCursor` of the previous page")]


def decode_cursor(
    cursor: str | None, path: str = "cursor", hint: str = "pass the `nextCursor` of the previous page"
) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        return decode_position(cursor)
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise InvalidCursor(f"invalid {path}; {hint}", path=path) from exc


def encode_cursor(at: datetime, row_id: str) -> str:
    """The cursor of the row after which the next page starts (read back by `decode_cursor`)."""
    return encode_position(at, row_id)


def page(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """The first `limit` rows and the cursor of the next page (rows were fetched with limit + 1)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)
