"""`baton rotate-keys` re-encrypts stored credentials so an old key can be retired."""

from __future__ import annotations

import json

import asyncpg

from core.crypto import CredentialCipher
from tests.baton.cli import baton
from tests.factories import create_user, create_workspace


async def test_rotating_moves_every_connection_to_the_new_key(
    database_url: str, db: asyncpg.Connection
) -> None:
    user, workspace = await create_user(db), await create_workspace(db)
    await db.execute(
        "INSERT INTO integrations (id, name, description, icon, category, auth_type) "
        "VALUES ('http', 'HTTP', 'd', 'i', 'c', 'NONE')"
    )
    for token in ("a", "b"):
        await db.execute(
            "INSERT INTO connections (user_id, workspace_id, integration_id, name, credentials) "
            "VALUES ($1, $2, 'http', $3, $4)",
            user,
            workspace,
            token,
            json.dumps(CredentialCipher("old-key").seal({"token": token})),
        )
    result = baton("rotate-keys", DATABASE_URL=database_url, ENCRYPTION_KEY="new-key,old-key")
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 2 connection(s)" in result.stdout
    new_only = CredentialCipher("new-key")
    rows = await db.fetch("SELECT name, credentials FROM connections ORDER BY name")
    assert [new_only.open(json.loads(r["credentials"]))["token"] for r in rows] == ["a", "b"]

    failed = baton("rotate-keys", DATABASE_URL=database_url, ENCRYPTION_KEY="other-key")
    assert failed.returncode == 1
    assert "could not be decrypted with any configured key" in failed.stderr
