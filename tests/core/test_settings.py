"""Settings refuse unsafe production values and never print passwords."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings, redact_url, to_asyncpg_url
from tests.baton.cli import baton


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", _env_file=None)
    assert Settings(environment="production", secret_key="x" * 48, _env_file=None).secret_key == "x" * 48


def test_serving_with_the_development_secret_needs_environment_to_say_development() -> None:
    assert Settings(_env_file=None).environment is None  # unset is not development
    assert "SECRET_KEY" in (Settings(_env_file=None).unsafe_secret() or "")
    assert "ENVIRONMENT=development" in (Settings(_env_file=None).unsafe_secret() or "")
    for environment in ("development", "test"):
        assert Settings(environment=environment, _env_file=None).unsafe_secret() is None
    assert Settings(secret_key="r" * 48, _env_file=None).unsafe_secret() is None


@pytest.mark.parametrize("command", ["api", "worker", "serve", "codec-server"])
def test_the_api_and_the_worker_refuse_to_start_with_the_development_secret(command: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ENVIRONMENT")}
    done = baton(command, env=env, timeout=60, cwd=Path(__file__).parent)  # no .env here
    assert done.returncode == 2, done.stderr
    assert "SECRET_KEY is unset or the built-in development value" in done.stderr
    assert "Traceback" not in done.stderr


def test_any_postgres_url_spelling_gets_the_asyncpg_driver() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+asyncpg://u@h/db"):
        assert to_asyncpg_url(url) == "postgresql+asyncpg://u@h/db"
    with pytest.raises(ValueError, match="postgresql://"):
        to_asyncpg_url("mysql://u@h/db")


def test_passwords_are_hidden_in_printed_urls() -> None:
    assert redact_url("postgresql://baton:s3cret@db:5432/baton") == "postgresql://baton:***@db:5432/baton"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
