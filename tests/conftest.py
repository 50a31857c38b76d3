"""Test harness: real PostgreSQL, Redis and Temporal for every test.

Servers come from DATABASE_URL / REDIS_URL / TEMPORAL_ADDRESS when set, otherwise embedded ones are started
for the session (the same ones `baton dev` runs). Each test gets its own database, cloned from a template
that alembic migrated once, its own Redis key prefix, and its own Temporal task queue.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from baton.embedded import (
    FAIRNESS,
    EmbeddedPostgres,
    EmbeddedRedis,
    free_port,
    temporal_binary,
)
from baton.migrate import upgrade_to_head_async
from core.db import create_engine
from core.outbound import outbound_client, policy_for
from core.redis_keys import RedisKeys
from core.settings import Settings, to_libpq_url
from core.temporal import SEARCH_ATTRIBUTES, connect_temporal
from tests.engine import Engine
from tests.http_server import ScriptedServer, serving
from worker.main import build_workers, log_writers, warm_up

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_ID = uuid.uuid4().hex[:8]
# The tests' third-party servers listen on 127.0.0.1, which Baton's outbound guard blocks by default
# (core.outbound): the tests permit it explicitly, and so do the processes they start.
TEST_OUTBOUND_ALLOW = "127.0.0.1,::1"
os.environ["OUTBOUND_ALLOW"] = TEST_OUTBOUND_ALLOW
SUGGEST_CAN_AT = 500
# a hung test prints its stacks, then ends the run (tests/watchdog.py); a local S3 server (tests/s3_server.py)
pytest_plugins = ["tests.watchdog", "tests.s3_server"]


@dataclass(frozen=True)
class Servers:
    postgres_admin_url: str  # libpq URL of a database we may CREATE DATABASE from
    redis_url: str
    temporal_address: str
    origin: str

    def database_url(self, name: str) -> str:
        base, _, _ = self.postgres_admin_url.rpartition("/")
        return f"{base}/{name}"


def pytest_report_header() -> list[str]:
    sources = [
        f"PostgreSQL: {'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded'}",
        f"Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded'}",
        f"Temporal: {'TEMPORAL_ADDRESS' if os.environ.get('TEMPORAL_ADDRESS') else 'embedded dev server'}",
        "MongoDB: "
        + ("MONGODB_URL" if os.environ.get("MONGODB_URL") else "not configured (logs in PostgreSQL)"),
    ]
    stores = (
        "PostgreSQL and MongoDB"
        if os.environ.get("MONGODB_URL")
        else "PostgreSQL only (set MONGODB_URL for MongoDB)"
    )
    return ["baton servers: " + ", ".join(sources), f"log store contract suite: {stores}"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures chaos and fuzz tests recorded (tests.chaos.conftest.record)."""
    from tests.chaos.conftest import FIGURES

    if not FIGURES:
        return
    terminalreporter.section("chaos figures")
    for figures in FIGURES:
        rest = ", ".join(f"{k}={v}" for k, v in figures.items() if k != "test")
        terminalreporter.write_line(f"{figures['test']}: {rest}")


@pytest.fixture(scope="session")
def server_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="baton-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def given_or_embedded(
    variable: str, embedded: Callable[[], EmbeddedPostgres | EmbeddedRedis]
) -> Iterator[str]:
    """The server the environment names in `variable`, or an embedded one started for the session."""
    if url := os.environ.get(variable):
        yield url
        return
    server = embedded()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_admin_url(server_dir: Path) -> Iterator[str]:
    for url in given_or_embedded(
        "DATABASE_URL", lambda: EmbeddedPostgres(server_dir / "postgres", free_port(), database="postgres")
    ):
        yield to_libpq_url(url)


@pytest.fixture(scope="session")
def redis_url(server_dir: Path) -> Iterator[str]:
    yield from given_or_embedded("REDIS_URL", lambda: EmbeddedRedis(server_dir / "redis", free_port()))


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment | None]:
    if os.environ.get("TEMPORAL_ADDRESS"):
        yield None
        return
    from temporalio.common import SearchAttributeKey

    kinds: dict[str, Callable[[str], SearchAttributeKey[Any]]] = {
        "Keyword": SearchAttributeKey.for_keyword,
        "Int": SearchAttributeKey.for_int,
    }
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        search_attributes=[kinds[kind](name) for name, kind in SEARCH_ATTRIBUTES.items()],
        ui=False,
        dev_server_log_level="error",
        # Suggest continue-as-new early so tests reach it with hundreds of steps instead of thousands.
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_CAN_AT}",
            *[arg for key, value in FAIRNESS.items() for arg in ("--dynamic-config-value", f"{key}={value}")],
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def temporal_address(temporal_env: WorkflowEnvironment | None) -> str:
    if temporal_env is None:
        return os.environ["TEMPORAL_ADDRESS"]
    address: str = temporal_env.client.service_client.config.target_host
    return address


@pytest.fixture(scope="session")
def servers(postgres_admin_url: str, redis_url: str, temporal_address: str) -> Servers:
    origin = "environment" if os.environ.get("DATABASE_URL") else "embedded"
    return Servers(postgres_admin_url, redis_url, temporal_address, origin)


async def admin_execute(servers: Servers, *statements: str) -> None:
    connection = await asyncpg.connect(servers.postgres_admin_url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def template_database(servers: Servers) -> AsyncIterator[str]:
    """A database migrated by alembic once; each test's database is a copy of it."""
    name = f"baton_template_{RUN_ID}"
    await admin_execute(servers, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    await upgrade_to_head_async(servers.database_url(name))
    yield name
    await admin_execute(servers, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def empty_database_url(servers: Servers) -> AsyncIterator[str]:
    """A database with nothing in it (for migration tests)."""
    name = f"baton_empty_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    await admin_execute(servers, f'CREATE DATABASE "{name}"')
    yield servers.database_url(name)
    await admin_execute(servers, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(servers: Servers, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test only."""
    name = f"baton_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    await admin_execute(servers, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield servers.database_url(name)
    await admin_execute(servers, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def settings(database_url: str, servers: Servers, redis_prefix: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=servers.redis_url,
        redis_key_prefix=redis_prefix,
        temporal_address=servers.temporal_address,
        mongodb_url=os.environ.get("MONGODB_URL") or None,
        outbound_allow=TEST_OUTBOUND_ALLOW.split(","),
        _env_file=None,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection to this test's database, for checking what is really stored."""
    connection = await asyncpg.connect(to_libpq_url(database_url))
    yield connection
    await connection.close()


@pytest.fixture
async def redis(settings: Settings, redis_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def redis_keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(redis_prefix)


@pytest.fixture
async def temporal_client(settings: Settings) -> Client:
    return await connect_temporal(settings)


# A local stand-in for third-party HTTP APIs, scripted by each test.
http_server = serving(ScriptedServer)


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex}"


@asynccontextmanager
async def running_engine(
    temporal_client: Client,
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    task_queue: str,
    db: asyncpg.Connection,
) -> AsyncIterator[Engine]:
    """A worker with everything Baton hosts on `task_queue`, built from `settings` as `baton worker` is."""
    await warm_up(engine, redis)
    writers = log_writers(settings, engine)
    async with outbound_client(policy_for(settings), follow_redirects=True) as http:
        workers = build_workers(  # one per execution profile, as `baton worker` serves them all
            temporal_client, settings, http, engine, redis, task_queue=task_queue, writers=writers
        )
        async with contextlib.AsyncExitStack() as stack:
            for worker in workers:
                await stack.enter_async_context(worker)
            yield Engine(temporal_client, db, task_queue, writers=writers)


EngineFor = Callable[..., AbstractAsyncContextManager[Engine]]


@pytest.fixture
def engine_for(
    temporal_client: Client,
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    task_queue: str,
    db: asyncpg.Connection,
) -> EngineFor:
    """`running_engine` on this test's servers and task queue, with other settings when given:
    `async with engine_for(changed_settings) as running:`; a test may start one again after it stopped."""
    return lambda changed=None: running_engine(
        temporal_client, changed or settings, engine, redis, task_queue, db
    )


@pytest.fixture
async def engine_worker(engine_for: EngineFor) -> AsyncIterator[Engine]:
    """A worker with everything Baton hosts, on this test's task queue."""
    async with engine_for() as running:
        yield running
