"""`baton rotate-keys`: re-encrypts every connection's credentials with the first ENCRYPTION_KEY."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.crypto import CredentialCipher, DecryptionError
from core.models.tables import CONNECTIONS


async def rotate_credentials(engine: AsyncEngine, cipher: CredentialCipher) -> tuple[int, list[str]]:
    """(rows re-encrypted, ids that no configured key could open). Each row commits on its own."""
    rotated, unreadable = 0, []
    async with engine.connect() as connection:
        rows = (await connection.execute(select(CONNECTIONS.c.id, CONNECTIONS.c.credentials))).all()
    for row in rows:
        try:
            sealed = cipher.rotate(row.credentials)
        except DecryptionError:
            unreadable.append(row.id)
            continue
        async with engine.begin() as connection:
            await connection.execute(
                update(CONNECTIONS).where(CONNECTIONS.c.id == row.id).values(credentials=sealed)
            )
        rotated += 1
    return rotated, unreadable
