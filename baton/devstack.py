"""`baton dev`: the whole platform on one machine. Starts an embedded server for each of PostgreSQL, Redis
and Temporal whose URL is not configured, migrates, seeds, then runs the API and a worker until Ctrl-C.

This module is the supervisor, a process manager: `baton dev` reads the settings, then replaces itself
with `python -m baton.devstack` (os.execv), which imports nothing heavy (no SDK, no ORM, no pydantic) and
runs the migrations and the seeding in a child process, so the process that only waits holds ~20 MB
instead of the CLI's ~120 MB.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from baton import console
from baton.embedded import (
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServer,
    EmbeddedTemporal,
    ServerProcess,
    die_with_parent,
    require_free_port,
    wait_until_ready,
)


class StopRequested(Exception):
    """SIGTERM (or a second Ctrl-C) asked `baton dev` to stop."""


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class DevOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    postgres_port: int = 54329
    redis_port: int = 63790
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    single_process: bool = True  # the API and the worker in one process (`baton serve`); False: two
    verbose: bool = False  # the processes' own logs (DEBUG, tracebacks) instead of the console's lines


def step(message: str) -> float:
    print(f"  - {message} ...", end="", flush=True)
    return time.monotonic()


def done(started: float, extra: str = "", word: str = "ready") -> None:
    print(f" {word} in {time.monotonic() - started:.1f}s{extra}", flush=True)


@dataclass
class DevConfig:
    """What the settings say about the stack (read by `baton dev` before it execs the supervisor): the
    servers configured instead of embedded ones, shown redacted."""

    database_url: str | None = None
    database_shown: str = ""
    redis_url: str | None = None
    redis_shown: str = ""
    temporal_address: str | None = None
    temporal_ui_url: str = "http://127.0.0.1:8233"
    temporal_namespace: str = "default"
    environment_set: bool = False
    secret_key_set: bool = False


def supervise(options: DevOptions, config: DevConfig) -> None:
    """Replaces this process with the supervisor (`python -m baton.devstack`): same pid, same terminal."""
    payload = json.dumps(
        {"options": {**asdict(options), "data_dir": str(options.data_dir)}, "config": asdict(config)}
    )
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "baton.devstack", payload])


def main(argv: list[str]) -> int:
    payload = json.loads(argv[1])
    options = DevOptions(**{**payload["options"], "data_dir": Path(payload["options"]["data_dir"])})
    return DevStack(options, DevConfig(**payload["config"])).run()


@dataclass
class DevStack:
    options: DevOptions
    settings: DevConfig
    started: list[Stoppable] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def run(self) -> int:
        previous = signal.signal(signal.SIGTERM, _raise_stop)
        # Ctrl-C (SIGINT) stops the stack even when this process was started with SIGINT ignored, as a
        # non-interactive shell does for `baton dev &` (and hands down to what it starts).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self._secret()
            self._start_servers()
            self._prepare_database()
            self._start_processes()
            self._print_addresses()
            return self._wait()
        except (KeyboardInterrupt, StopRequested):
            print("\nStopping ...", flush=True)
            return 0
        except EmbeddedError as exc:
            print(f"\nerror: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            signal.signal(
                signal.SIGINT, signal.SIG_IGN
            )  # let the shutdown finish even if Ctrl-C is pressed again
            self.stop()
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def stop(self) -> None:
        while self.started:
            service = self.started.pop()
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others
                print(f"  could not stop {service}: {exc}", file=sys.stderr)
        print("Stopped. Data kept in", self.options.data_dir, flush=True)

    # ------------------------------------------------------------------ steps

    def _secret(self) -> None:
        """SECRET_KEY signs tokens and derives the keys that seal credentials and Temporal payloads: unless
        it is set, each data folder gets its own random one (kept in `secret_key`, readable by its owner
        only), never the built-in development value the API and worker refuse."""
        if not self.settings.environment_set:
            self.env["ENVIRONMENT"] = "development"
        if self.settings.secret_key_set:
            return
        path = self.options.data_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_urlsafe(48))
        self.env["SECRET_KEY"] = path.read_text().strip()

    def _start_servers(self) -> None:
        data = self.options.data_dir
        data.mkdir(parents=True, exist_ok=True)
        print(f"Baton dev stack (data in {data})", flush=True)

        settings = self.settings
        postgres = EmbeddedPostgres(data / "postgres", self.options.postgres_port)
        if self._use_or_start("DATABASE_URL", settings.database_url, settings.database_shown, postgres):
            self.env["DATABASE_URL"] = postgres.url
        redis = EmbeddedRedis(data / "redis", self.options.redis_port)
        if self._use_or_start("REDIS_URL", settings.redis_url, settings.redis_shown, redis):
            self.env["REDIS_URL"] = redis.url
        temporal = EmbeddedTemporal(
            data / "temporal",
            self.options.temporal_port,
            self.options.temporal_ui_port,
            namespace=self.settings.temporal_namespace,
            codec_endpoint=self._codec_url,
        )
        address = self.settings.temporal_address
        if self._use_or_start("TEMPORAL_ADDRESS", address, address, temporal):
            self.env["TEMPORAL_ADDRESS"] = temporal.address
            self.env["TEMPORAL_UI_URL"] = temporal.ui_url
            # every port the dev server opens is one of Baton's own servers (core.outbound.own_servers)
            self.env["TEMPORAL_HTTP_ADDRESS"] = temporal.http_address
            self.env["TEMPORAL_METRICS_ADDRESS"] = temporal.metrics_address
            internal = [f"127.0.0.1:{port}" for port in sorted(temporal.internal_ports)]
            configured = os.environ.get("BATON_SERVERS", "")
            self.env["BATON_SERVERS"] = ",".join([configured, *internal] if configured else internal)
        else:
            self.env["TEMPORAL_UI_URL"] = self.settings.temporal_ui_url

    def _use_or_start(
        self, variable: str, configured: str | None, shown: str | None, server: EmbeddedServer
    ) -> bool:
        """Whether `server` was started (and will be stopped with the stack): not when `variable` names a
        server of the user's, which is used instead."""
        if configured is not None:
            print(f"  - {server.title}: using {variable} ({shown})")
            self.env[variable] = configured
            return False
        started = step(f"{server.title} (embedded) on {server.where}")
        self.started.append(server)
        server.start()
        done(started)
        return True

    def _prepare_database(self) -> None:
        started = step("Migrating the database and seeding the catalogue and templates")
        prepared = subprocess.run(
            [sys.executable, "-m", "baton", "dev-prepare"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
        )
        if prepared.returncode != 0:
            raise EmbeddedError(f"the database could not be prepared:\n{prepared.stdout}{prepared.stderr}")
        done(started, f" ({prepared.stdout.strip()})", word="done")

    @property
    def _codec_url(self) -> str:
        """The Web UI's codec endpoint: the API's /codec (CODEC_IN_API), not a process of its own."""
        host = "127.0.0.1" if self.options.host in ("0.0.0.0", "::") else self.options.host  # noqa: S104
        return f"http://{host}:{self.options.port}/codec"

    def _start_processes(self) -> None:
        require_free_port(self.options.port, "the API", "--port")
        env = {**os.environ, **self.env, "API_HOST": self.options.host, "API_PORT": str(self.options.port)}
        # one developer's own machine: no plan limits unless DEFAULT_PLAN says otherwise
        env.setdefault("DEFAULT_PLAN", "ENTERPRISE")
        # values too large for a run's history are kept in the data folder (core.blobs), not refused
        env.setdefault("BLOB_STORE_URL", (self.options.data_dir / "blobs").resolve().as_uri())
        env["CODEC_IN_API"] = "true"
        if self.options.verbose:
            env[console.VERBOSE_ENV] = "1"
        listen = ["--host", self.options.host, "--port", str(self.options.port)]
        if not self.options.single_process:
            started = step("Worker")
            worker = _spawn_python("worker", ["-m", "baton", "worker"], env, "worker")
            self.started.append(worker)
            done(started)
            started = step(f"API on http://{self.options.host}:{self.options.port}")
            api = _spawn_python("API", ["-m", "baton", "api", *listen], env, "api")
        else:
            started = step(f"API and worker (one process) on http://{self.options.host}:{self.options.port}")
            api = _spawn_python("API and worker", ["-m", "baton", "serve", *listen], env, "serve")
        self.started.append(api)
        health = f"http://{self.options.host}:{self.options.port}/healthz"
        wait_until_ready(api, lambda: _http_ok(health), 60, "GET /healthz")
        done(started)

    def _print_addresses(self) -> None:
        base = f"http://{self.options.host}:{self.options.port}"
        print(
            "\nBaton is running.\n"
            f"  Console      {base}/\n"
            f"  API          {base}/api/v1\n"
            f"  API docs     {base}/docs\n"
            f"  Readiness    {base}/readyz\n"
            f"  Temporal UI  {self.env['TEMPORAL_UI_URL']} (payloads decoded by {self._codec_url})\n"
            "Press Ctrl-C to stop (data is kept for the next start).",
            flush=True,
        )

    def _wait(self) -> int:
        watched = [s if isinstance(s, ServerProcess) else getattr(s, "server", None) for s in self.started]
        while True:
            for process in watched:
                if isinstance(process, ServerProcess) and not process.running():
                    print(
                        f"\nerror: {process.name} exited (code {process.process.returncode}); stopping.\n"
                        f"{process.log_tail()}",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
            time.sleep(0.5)


def _spawn_python(name: str, args: list[str], env: dict[str, str], label: str) -> ServerProcess:
    """A Baton process (api, worker) whose output goes to this terminal, in the console's lines under
    `label` (baton/console.py)."""
    process = subprocess.Popen(
        [sys.executable, *args],
        env={**env, console.CONSOLE_ENV: label},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509
    )
    return ServerProcess(name, process, Path(os.devnull), signal.SIGTERM, stop_timeout=15)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a local URL we built
            return bool(response.status == 200)
    except OSError:
        return False


def _raise_stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - signal handler signature
    raise StopRequested


if __name__ == "__main__":
    sys.exit(main(sys.argv))
