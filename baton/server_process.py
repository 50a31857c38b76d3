"""Child server processes for `baton dev` and the embedded servers: spawned in their own session, dying
with their parent (Linux parent-death signal), waited for until ready, stopped politely; and the port
checks that give a clear message when a port is taken."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """A server could not start; the message says what to do."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the parent dies, however the parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ServerProcess:
    """A child server process, its log file, and how to stop it politely."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 20.0

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if not self.running():
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _spawn(
    name: str,
    args: list[str],
    log_path: Path,
    *,
    user: str | None = None,
    cwd: Path | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> ServerProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        user=user,
        # Own session: a Ctrl-C in the terminal reaches `baton dev`, which then stops servers in order.
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads run user code before the servers start
    )
    log.close()
    return ServerProcess(name, process, log_path, stop_signal)


def wait_until_ready(server: ServerProcess, ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise EmbeddedError(
                f"{server.name} exited while starting (code {server.process.returncode}). "
                f"Its log ({server.log_path}) ends with:\n{server.log_tail()}"
            )
        if ready():
            return
        time.sleep(0.1)
    server.stop()
    raise EmbeddedError(
        f"{server.name} did not become ready ({what}) within {timeout:g}s; see {server.log_path}"
    )


def require_free_port(port: int, name: str, flag: str) -> None:
    if not port_is_free(port):
        raise EmbeddedError(
            f"Port {port} for {name} is already in use. Another `baton dev` may be running (stop it), "
            f"or choose another port with {flag}, or point Baton at a running server with its URL variable."
        )
