"""Chaos tests: real processes killed with SIGKILL and servers restarted under load (`pytest -m chaos`
runs them alone; they are part of the default run too, each bounded in time).

Each test records its figures (runs attempted, completed, lost; duplicated effects; webhooks acknowledged
against executions) with `record`; the run's summary prints them, and `bench/chaos_report.py` writes them
out as a table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client

from baton.embedded import free_port
from core.settings import Settings
from tests.engine import Engine

REPORT_ENV = "BATON_CHAOS_REPORT"
FIGURES: list[dict[str, Any]] = []


def record(test: str, **figures: Any) -> None:
    """Keeps one test's figures for the summary (and the file named by BATON_CHAOS_REPORT)."""
    FIGURES.append({"test": test, **figures})
    path = os.environ.get(REPORT_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"test": test, **figures}) + "\n")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chaos)


class Process:
    """A Baton command as a child process that can be killed with SIGKILL and started again."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        # the tests' processes sign with the development secret: say so, as `baton dev` does
        self.args, self.env, self.log = args, {"ENVIRONMENT": "test", **env}, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "baton", *self.args], env=self.env, stdout=out, stderr=out
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL: no shutdown, no cleanup
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def worker_env(settings: Settings, task_queue: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a Baton child process on the tests' servers and task queue: `base` (this
    process's environment when None) with the settings that point it there."""
    return {
        **(dict(os.environ) if base is None else base),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "WORKER_METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


@dataclass
class Children:
    """A test's Baton child processes: on the tests' servers and task queue, logging under `logs`, killed at
    the test's end; `engine` starts runs that they pick up and reads what the runs wrote."""

    settings: Settings
    db: asyncpg.Connection
    temporal_client: Client
    task_queue: str
    processes: list[Process]
    logs: Path

    def env(self, **more: str) -> dict[str, str]:
        return {**worker_env(self.settings, self.task_queue), **more}

    def start(self, args: list[str], env: dict[str, str] | None = None, log: str = "worker.log") -> Process:
        """`baton ARGS` started with `env` (`self.env()` when None), writing to `logs/log`."""
        process = Process(args, self.env() if env is None else env, self.logs / log)
        self.processes.append(process)
        process.start()
        return process

    @property
    def engine(self) -> Engine:
        return Engine(self.temporal_client, self.db, self.task_queue)


@pytest.fixture
def children(
    settings: Settings,
    db: asyncpg.Connection,
    temporal_client: Client,
    task_queue: str,
    processes: list[Process],
    tmp_path: Path,
) -> Children:
    return Children(settings, db, temporal_client, task_queue, processes, tmp_path)


async def run_records(db: asyncpg.Connection, workflow_id: str) -> tuple[dict[str, int], tuple[int, ...]]:
    """What the workflow's runs wrote: step rows by status, and the workflow's (total, successful, failed)
    counters."""
    steps = await db.fetch(
        "SELECT s.status, count(*) AS n FROM step_executions s JOIN workflow_executions e "
        "ON e.id = s.execution_id WHERE e.workflow_id = $1 GROUP BY s.status",
        workflow_id,
    )
    counters = await db.fetchrow(
        "SELECT total_executions, successful_executions, failed_executions FROM workflows WHERE id = $1",
        workflow_id,
    )
    return {row["status"]: row["n"] for row in steps}, tuple(counters)


def start_api(env: dict[str, str], log: Path, processes: list[Process]) -> int:
    """A `baton api` process on a free port (killed at the test's end); returns the port."""
    port = free_port()
    api = Process(["api", "--port", str(port)], env, log)
    processes.append(api)
    api.start()
    return port
