"""Applies Baton's alembic migrations programmatically (what `baton migrate` and the tests call)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # `%` is alembic's interpolation character; URLs may contain it (escaped passwords).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    """Applies every pending migration; a no-op when the database is already at head."""
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    # alembic's env.py runs its own event loop, so it must run in a thread when called from async code.
    await asyncio.to_thread(upgrade_to_head, database_url)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from core.settings import to_libpq_url

    return asyncio.run(_read_revision(to_libpq_url(database_url)))


async def _read_revision(url: str) -> str | None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=10)
    try:
        exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not exists:
            return None
        value = await connection.fetchval("SELECT version_num FROM alembic_version")
        return str(value) if value is not None else None
    finally:
        await connection.close()
