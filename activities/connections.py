"""Loads and decrypts a connection's credentials for an action, scoped to the run's workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from core.crypto import CredentialCipher, DecryptionError
from core.models import Connection

CONNECTIONS = Connection.__table__  # type: ignore[attr-defined]


class ConnectionCredentials:
    def __init__(self, engine: AsyncEngine, cipher: CredentialCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    async def load(self, connection_id: str, workspace_id: str | None) -> dict[str, Any]:
        """The decrypted credentials; a connection of another workspace is reported as not found."""
        query = select(CONNECTIONS.c.credentials, CONNECTIONS.c.is_active, CONNECTIONS.c.access_token).where(
            CONNECTIONS.c.id == connection_id
        )
        if workspace_id is not None:
            query = query.where(CONNECTIONS.c.workspace_id == workspace_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            raise ApplicationError(
                f"connection {connection_id} does not exist in this workspace",
                type="ConnectionNotFound",
                non_retryable=True,
            )
        if not row.is_active:
            raise ApplicationError(
                f"connection {connection_id} is disabled; enable it or pick another",
                type="ConnectionDisabled",
                non_retryable=True,
            )
        try:
            return self._cipher.open(row.credentials)
        except DecryptionError as exc:
            raise ApplicationError(
                f"connection {connection_id}: {exc} (was ENCRYPTION_KEY changed?)",
                type="CredentialsUnreadable",
                non_retryable=True,
            ) from exc
