"""Bodies of the connection endpoints: credentials go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.base import ApiModel
from core.models import TestStatus


class ConnectionCreate(ApiModel):
    integration_id: str
    name: str = Field(min_length=1, max_length=200)
    credentials: dict[str, Any] = Field(default_factory=dict, description="Write-only; stored encrypted")


class ConnectionUpdate(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    credentials: dict[str, Any] | None = Field(
        default=None, description="Write-only; replaces the stored ones"
    )
    is_active: bool | None = None


class ConnectionOut(ApiModel):
    id: str
    workspace_id: str
    user_id: str
    integration_id: str
    name: str
    is_active: bool
    expires_at: datetime | None
    last_tested_at: datetime | None
    test_status: TestStatus
    created_at: datetime
    updated_at: datetime


class ConnectionTest(ApiModel):
    ok: bool
    test_status: TestStatus
    detail: str
