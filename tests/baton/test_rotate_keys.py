"""`baton rotate-keys` re-encrypts stored credentials so an old key can be retired."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import asyncpg

from core.crypto import CredentialCipher
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
    env = {**os.environ, "DATABASE_URL": database_url, "ENCRYPTION_KEY": "new-key,old-key"}
    result = subprocess.run(
        [sys.executable, "-m", "baton", "rotate-keys"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 2 connection(s)" in result.stdout
    new_only = CredentialCipher("new-key")
    rows = await db.fetch("SELECT name, credentials FROM connections ORDER BY name")
    assert [new_only.open(json.loads(r["credentials"]))["token"] for r in rows] == ["a", "b"]

    env["ENCRYPTION_KEY"] = "other-key"
    failed = subprocess.run(
        [sys.executable, "-m", "baton", "rotate-keys"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert "could not be decrypted with any configured key" in failed.stderr
