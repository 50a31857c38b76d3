"""Bodies of the connection endpoints: credentials go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.base import ApiModel, RequestBody
from core.models import TestStatus


class ConnectionRateLimit(ApiModel):
    """At most `limit` calls in each `windowSeconds` through this connection (lowers the integration's own
    limit, never raises it); steps over it wait for the next window instead of failing."""

    limit: int = Field(ge=1, le=1_000_000)
    window_seconds: int = Field(default=60, ge=1, le=86400)


class ConnectionRateLimitIn(ConnectionRateLimit):
    """A rate limit as a caller sets it (stored ones are read back leniently, as ConnectionRateLimit)."""

    model_config = ConfigDict(extra="forbid")


class ConnectionCreate(RequestBody):
    integration_id: str
    name: str = Field(min_length=1, max_length=200)
    credentials: dict[str, Any] = Field(default_factory=dict, description="Write-only; stored encrypted")
    rate_limit: ConnectionRateLimitIn | None = None


class ConnectionUpdate(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    credentials: dict[str, Any] | None = Field(
        default=None, description="Write-only; replaces the stored ones"
    )
    is_active: bool | None = None
    rate_limit: ConnectionRateLimitIn | None = Field(default=None, description="null removes it")


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
    rate_limit: ConnectionRateLimit | None = None
    connected_as: str | None = Field(
        default=None,
        description="OAuth2: who the connection acts for, as the provider's userinfo or id_token says",
        examples=["ada@example.com"],
    )
    created_at: datetime
    updated_at: datetime


class ConnectionTest(ApiModel):
    ok: bool
    test_status: TestStatus
    detail: str = Field(description="Baton's sentence for the outcome (never the remote server's words)")
    failure: Literal["auth", "refused", "timeout", "tls", "blocked", "credentials", "failed"] | None = Field(
        default=None, description="Why the test failed; null when it passed", examples=["refused"]
    )
