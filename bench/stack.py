"""`baton dev` for benchmarks: started on free ports in a temporary folder, with its defaults, and the
processes it runs (api, worker, servers) found for weighing and CPU accounting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from baton.embedded import free_port

STACK_VARIABLES = ("DATABASE_URL", "REDIS_URL", "TEMPORAL_ADDRESS", "MONGODB_URL")
PORT_OPTIONS = (
    "--port",
    "--postgres-port",
    "--redis-port",
    "--temporal-port",
    "--temporal-ui-port",
)


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def dev_command(data_dir: Path, ports: list[int], *, split: bool = False) -> list[str]:
    """`baton dev` on these ports (API, PostgreSQL, Redis, Temporal, Temporal UI)."""
    args = [sys.executable, "-m", "baton", "dev", "--data-dir", str(data_dir)]
    for name, port in zip(PORT_OPTIONS, ports, strict=True):
        args += [name, str(port)]
    return [*args, "--split"] if split else args


def dev_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without the variables that would make `baton dev` use servers of its own."""
    kept = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
    # the scenarios' HTTP servers are on 127.0.0.1, which the outbound guard blocks unless allowed
    return {**kept, "OUTBOUND_ALLOW": kept.get("OUTBOUND_ALLOW", "127.0.0.1"), **(extra or {})}


@dataclass
class TreeEntry:
    name: str
    rss_mb: float
    pss_mb: float


def _short_name(line: str, name: str) -> str:
    for marker in ("baton.devstack", "baton serve", "baton api", "baton worker", "baton dev"):
        if marker in line or marker.replace(" ", "/") in line:
            return "supervisor (baton dev)" if marker in ("baton.devstack", "baton dev") else marker
    if line.startswith("postgres:"):
        return "postgres " + line.removeprefix("postgres:").strip()[:40]
    return name


@dataclass
class BenchStack:
    api: str
    database_url: str
    redis_url: str
    temporal_address: str
    folder: Path
    process: subprocess.Popen[bytes]
    processes: dict[str, psutil.Process] = field(default_factory=dict)

    def find_processes(self) -> None:
        """api and worker (Baton's Python processes), temporal, postgres (all its backends), redis."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                line = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "baton serve" in line:  # the default: one process is both
                self.processes["api"] = self.processes["worker"] = child
            elif "baton worker" in line:
                self.processes["worker"] = child
            elif "baton api" in line:
                self.processes["api"] = child
            elif child.name() == "temporal":
                self.processes["temporal"] = child
            elif "redis-server" in child.name():
                self.processes["redis"] = child
            elif child.name() == "postgres" and "postgres" not in self.processes:
                self.processes["postgres"] = child

    def tree(self) -> list[TreeEntry]:
        """`baton dev` (the supervisor) and every process under it, each named by what it runs."""
        members = [
            psutil.Process(self.process.pid),
            *psutil.Process(self.process.pid).children(recursive=True),
        ]
        entries = []
        for member in members:
            try:
                memory = member.memory_full_info()
                line = " ".join(member.cmdline()) or member.name()
            except psutil.Error:
                continue
            name = _short_name(line, member.name())
            entries.append(TreeEntry(name, memory.rss / 2**20, getattr(memory, "pss", memory.rss) / 2**20))
        return entries

    def _distinct(self, names: tuple[str, ...]) -> list[str]:
        """`api` and `worker` are one process under `baton serve`: count it once."""
        seen: dict[int, str] = {}
        for name in names:
            seen.setdefault(self.processes[name].pid, name)
        return list(seen.values())

    def rss_mb(self, *names: str) -> float:
        return float(sum(self.processes[n].memory_info().rss for n in self._distinct(names))) / 2**20

    def cpu_seconds(self, *names: str) -> float:
        """User + system CPU seconds so far (postgres with all its backends)."""
        total = 0.0
        for name in self._distinct(names):
            process = self.processes[name]
            members = [process]
            if name == "postgres":
                members += process.children(recursive=True)
                try:  # backends that have exited since (the postmaster waited for them)
                    reaped = process.cpu_times()
                    total += reaped.children_user + reaped.children_system
                except psutil.Error:
                    pass
            for member in members:
                try:
                    times = member.cpu_times()
                except psutil.Error:
                    continue
                total += times.user + times.system
        return total


@contextmanager
def dev_stack(extra_env: dict[str, str] | None = None, *, split: bool = False) -> Iterator[BenchStack]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as folder:
        ports = [free_port() for _ in range(len(PORT_OPTIONS))]
        env = dev_env({"LOG_LEVEL": "WARNING", **(extra_env or {})})
        args = dev_command(Path(folder) / "data", ports, split=split)
        print(f"starting baton dev in {folder} ...", flush=True)
        log = (Path(folder) / "baton-dev.log").open("wb")
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        api = f"http://127.0.0.1:{ports[0]}"
        started = time.monotonic()
        try:
            while not ready(f"{api}/readyz"):
                if process.poll() is not None or time.monotonic() - started > 180:
                    raise SystemExit(
                        f"baton dev did not become ready; its output:\n{Path(log.name).read_text()[-3000:]}"
                    )
                time.sleep(0.1)
            print(f"baton dev ready in {time.monotonic() - started:.1f} s", flush=True)
            stack = BenchStack(
                api=api,
                database_url=f"postgresql://postgres@127.0.0.1:{ports[1]}/baton",
                redis_url=f"redis://127.0.0.1:{ports[2]}/0",
                temporal_address=f"127.0.0.1:{ports[3]}",
                folder=Path(folder),
                process=process,
            )
            stack.find_processes()
            yield stack
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
