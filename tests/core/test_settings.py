"""Settings refuse unsafe production values and never print passwords."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings, redact_url, to_asyncpg_url


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", _env_file=None)
    assert Settings(environment="production", secret_key="x" * 48, _env_file=None).secret_key == "x" * 48


def test_any_postgres_url_spelling_gets_the_asyncpg_driver() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+asyncpg://u@h/db"):
        assert to_asyncpg_url(url) == "postgresql+asyncpg://u@h/db"
    with pytest.raises(ValueError, match="postgresql://"):
        to_asyncpg_url("mysql://u@h/db")


def test_passwords_are_hidden_in_printed_urls() -> None:
    assert redact_url("postgresql://baton:s3cret@db:5432/baton") == "postgresql://baton:***@db:5432/baton"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
