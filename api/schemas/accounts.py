"""Bodies of the auth, user and API key endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import EmailStr, Field, field_validator

from api.schemas.base import ApiModel, RequestBody
from core.permissions import API_KEY_SCOPES


class RegisterBody(RequestBody):
    email: EmailStr
    password: str = Field(min_length=10, max_length=200, description="At least 10 characters")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)


class LoginBody(RequestBody):
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


class RefreshBody(RequestBody):
    refresh_token: str


class VerifyEmailBody(RequestBody):
    token: str


class TokenPair(ApiModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class UserOut(ApiModel):
    id: str
    email: str
    first_name: str
    last_name: str
    email_verified: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class ApiKeyCreate(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, examples=[["workflows:read", "executions:read"]])
    expires_at: datetime | None = Field(
        default=None, description="When the key stops working (in the future; UTC when no offset is given)"
    )

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if value <= datetime.now(UTC):
            raise ValueError("is not in the future: a key must expire later than now (or omit expiresAt)")
        return value

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        unknown = sorted(set(scopes) - API_KEY_SCOPES)
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(API_KEY_SCOPES))}")
        return scopes


class ApiKeyOut(ApiModel):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognize it")
    scopes: list[str]
    is_active: bool
    last_used_at: datetime | None
    expires_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. It is shown this once: store it now")
