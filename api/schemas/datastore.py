"""The workspace data store's API shapes (core.datastore)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.base import ApiModel, RequestBody


class DataStoreEntryOut(ApiModel):
    key: str
    value: Any = None
    version: int
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class DataStorePut(RequestBody):
    value: Any = Field(description="Any JSON value (at most 256 KiB of JSON)")
    ttl_seconds: float | None = Field(
        default=None, gt=0, description="Forget the value after this many seconds (default: never)"
    )
    if_absent: bool = Field(
        default=False, description="Write only when the key has no value (else the stored one is answered)"
    )


class DataStoreIncrement(RequestBody):
    by: int | float = Field(default=1, description="What to add (negative to subtract)")
    ttl_seconds: float | None = Field(
        default=None, gt=0, description="When this creates the key: forget it after this many seconds"
    )
