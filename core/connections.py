"""Connections: credentials validated against the integration's model, sealed at rest, never returned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.crypto import CredentialCipher
from core.errors import InvalidDefinition, NotFound
from core.models import Connection, Integration, TestStatus, User
from core.oauth import Tokens


class InvalidCredentials(InvalidDefinition):
    kind = "invalid_credentials"


def check_credentials(model: type[BaseModel] | None, credentials: dict[str, Any]) -> None:
    if model is None:
        return
    try:
        model.model_validate(credentials)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        path = f"credentials.{where}" if where else "credentials"
        raise InvalidCredentials(f"{path}: {first['msg']}", path=path) from exc


async def create(
    session: AsyncSession,
    cipher: CredentialCipher,
    *,
    workspace_id: str,
    user: User,
    integration_id: str,
    name: str,
    credentials: dict[str, Any],
    credentials_model: type[BaseModel] | None,
    rate_limit: dict[str, Any] | None = None,
) -> Connection:
    if await session.get(Integration, integration_id) is None:
        raise NotFound(f"no integration {integration_id!r}", path="integrationId")
    check_credentials(credentials_model, credentials)
    connection = Connection(
        workspace_id=workspace_id,
        user_id=user.id,
        integration_id=integration_id,
        name=name,
        credentials=cipher.seal(credentials),
        rate_limit=rate_limit,
    )
    session.add(connection)
    await session.flush()
    return connection


def oauth_credentials(tokens: Tokens, earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """What an OAuth2 connection holds: the tokens, and what `earlier` credentials held (a baseUrl...)."""
    return {
        **(earlier or {}),
        **tokens.raw,
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
    }


def token_columns(cipher: CredentialCipher, credentials: dict[str, Any], tokens: Tokens) -> dict[str, Any]:
    """The columns an OAuth2 connection's tokens live in: `credentials` (sealed) and the seed's token
    columns (each encrypted), with `expiresAt` so refreshing can happen before it passes."""
    return {
        "credentials": cipher.seal(credentials),
        "access_token": cipher.seal_text(tokens.access_token),
        "refresh_token": cipher.seal_text(tokens.refresh_token) if tokens.refresh_token else None,
        "expires_at": tokens.expires_at,
        "test_status": TestStatus.SUCCESS,
    }


async def create_from_oauth(
    session: AsyncSession,
    cipher: CredentialCipher,
    *,
    workspace_id: str,
    user_id: str,
    integration_id: str,
    name: str,
    tokens: Tokens,
    earlier: dict[str, Any] | None = None,
    connected_as: str | None = None,
) -> Connection:
    """A connection holding the OAuth2 tokens the authorization gave (with `earlier` credentials: what a
    generic OAuth2 connection needs to refresh them)."""
    connection = Connection(
        workspace_id=workspace_id,
        user_id=user_id,
        integration_id=integration_id,
        name=name,
        last_tested_at=datetime.now(UTC),
        connected_as=connected_as,
        **token_columns(cipher, oauth_credentials(tokens, earlier), tokens),
    )
    session.add(connection)
    await session.flush()
    return connection


async def get(session: AsyncSession, workspace_id: str, connection_id: str) -> Connection:
    connection = await session.get(Connection, connection_id)
    if connection is None or connection.workspace_id != workspace_id:
        raise NotFound("connection not found")
    return connection


async def list_all(
    session: AsyncSession, workspace_id: str, integration_id: str | None = None
) -> list[Connection]:
    query = select(Connection).where(Connection.workspace_id == workspace_id)
    if integration_id is not None:
        query = query.where(Connection.integration_id == integration_id)
    return list((await session.exec(query.order_by(col(Connection.created_at)))).all())


async def update(
    session: AsyncSession,
    cipher: CredentialCipher,
    connection: Connection,
    fields: dict[str, Any],
    credentials_model: type[BaseModel] | None,
) -> Connection:
    if "name" in fields and fields["name"] is not None:
        connection.name = fields["name"]
    if "isActive" in fields and fields["isActive"] is not None:
        connection.is_active = fields["isActive"]
    if "rateLimit" in fields:
        connection.rate_limit = fields["rateLimit"]
    if fields.get("credentials") is not None:
        check_credentials(credentials_model, fields["credentials"])
        connection.credentials = cipher.seal(fields["credentials"])
        connection.test_status = TestStatus.PENDING
    session.add(connection)
    await session.flush()
    return connection


def record_test(connection: Connection, ok: bool) -> None:
    connection.last_tested_at = datetime.now(UTC)
    connection.test_status = TestStatus.SUCCESS if ok else TestStatus.FAILED
