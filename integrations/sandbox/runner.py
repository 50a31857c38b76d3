"""Runs a script in a sandbox child process and reads its answer: the worker's side of the `code` step.

What was chosen, and why:
- Python runs in pydantic-monty (the `pydantic-monty` wheel is a metapackage: `pydantic-monty-client` is the
  module, `pydantic-monty-runtime` the `monty` binary). It is an interpreter for a subset of Python written
  in Rust for untrusted code, not CPython with things taken away: there is no `__import__`, no dunder
  attribute access (`().__class__` is an AttributeError), no `socket`/`subprocess`, `open` and `os` answer
  PermissionError unless the host mounts something (we mount nothing), and memory, time and recursion are
  limits of the interpreter itself, reported with the script's line and column. It already runs each session
  in a `monty` worker process of its own.
- JavaScript runs in V8 through mini-racer: a bare isolate has no require, process, fetch, file or socket
  API; its heap and time limits are V8's own (`max_memory`, `timeout_sec`). A fresh context per script.
- Both run in a child process used for one script only (child.py), started with an empty environment (no
  secret of the worker's is in it), in its own session (so the worker kills its whole group: the child and
  the monty worker), and under OS limits set before it runs anything: CPU seconds (SIGXCPU), no file may be
  written (RLIMIT_FSIZE 0), no core dumps, few descriptors, and a memory ceiling: RLIMIT_AS for Python;
  RLIMIT_DATA for JavaScript, because V8 reserves gigabytes of address space it never uses and dies under
  RLIMIT_AS. Where the worker may (root, or a user namespace), the child also gets a network namespace of
  its own with no interface: neither engine has a network API, and should one be found, it reaches
  nothing. The engines' own limits stop a script first, with a clear message; the OS limits and the
  worker's wall-clock kill are the backstop for what escapes them. A child that dies fails the step; it
  never leaves the run stuck.
- One warm child per language waits for the next script (its engine started: V8 initialised, the monty
  worker spawned), so a step waits only for the script itself; it is used once and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
from collections.abc import Callable

from integrations.sandbox.protocol import (
    MAX_MEMORY_BYTES,
    MAX_OUTPUT_BYTES,
    MAX_TIMEOUT_SECONDS,
    Answer,
    Job,
    Language,
    failed,
    timed_out,
    too_large,
)

# beyond the script's own memory: the interpreter, V8's code and the child's Python
BASELINE_BYTES = 512 * 2**20
# how long past the script's time limit the worker waits for an answer before killing the child
GRACE_SECONDS = 3.0
# an answer carries the result as escaped JSON text: room for the escaping
ANSWER_LIMIT = 8 * MAX_OUTPUT_BYTES
CLONE_NEWNET = 0x40000000


def without_network() -> bool:
    """Moves the calling process into a new network namespace (no interface, not even loopback); False
    where that is not permitted (then the engines' lack of any network API is the only wall)."""
    try:
        return bool(ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) == 0)
    except (OSError, AttributeError):
        return False


def os_limits(language: Language) -> Callable[[], None]:
    """What the child's process may use, set between fork and exec (runs in the child)."""
    memory = resource.RLIMIT_AS if language == "python" else resource.RLIMIT_DATA

    def apply() -> None:
        ceiling = MAX_MEMORY_BYTES + BASELINE_BYTES
        resource.setrlimit(memory, (ceiling, ceiling))
        resource.setrlimit(resource.RLIMIT_CPU, (MAX_TIMEOUT_SECONDS + 5, MAX_TIMEOUT_SECONDS + 10))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        without_network()

    return apply


async def start_child(language: Language) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-m",
        "integrations.sandbox.child",
        language,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={},
        cwd="/",
        preexec_fn=os_limits(language),
        start_new_session=True,
        limit=ANSWER_LIMIT,
    )


def kill(child: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def ended(child: asyncio.subprocess.Process, job: Job) -> Answer:
    """The answer for a child that died before answering."""
    code = child.returncode
    if code == -signal.SIGXCPU:
        return timed_out(job)
    how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
    return failed(
        "memory", f"the sandbox process was stopped ({how}): the script went past an operating system limit"
    )


class Sandbox:
    """Runs scripts, one child each, at most `concurrency` at a time, with one warm child per language."""

    def __init__(self, concurrency: int | None = None, warm: bool = True) -> None:
        self.slots = asyncio.Semaphore(concurrency or max(2, os.cpu_count() or 2))
        self.warm = warm
        self.ready: dict[Language, asyncio.Task[asyncio.subprocess.Process]] = {}

    async def child(self, language: Language) -> asyncio.subprocess.Process:
        waiting = self.ready.pop(language, None)
        child = await waiting if waiting is not None else None
        if child is None or child.returncode is not None:
            child = await start_child(language)
        if self.warm:
            self.ready[language] = asyncio.create_task(start_child(language))
        return child

    async def run(self, job: Job) -> Answer:
        async with self.slots:
            child = await self.child(job.language)
            try:
                return await self.exchange(child, job)
            finally:
                kill(child)
                await child.wait()

    async def exchange(self, child: asyncio.subprocess.Process, job: Job) -> Answer:
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            child.stdin.write(json.dumps(job.to_json()).encode() + b"\n")
            await child.stdin.drain()
            child.stdin.close()
            line = await asyncio.wait_for(child.stdout.readline(), job.timeout_seconds + GRACE_SECONDS)
        except TimeoutError:
            return timed_out(job)
        except (ValueError, asyncio.LimitOverrunError):
            return too_large(job)
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        if not line:
            await child.wait()
            return ended(child, job)
        return Answer(**json.loads(line))

    async def close(self) -> None:
        for waiting in self.ready.values():
            with contextlib.suppress(Exception):
                child = await waiting
                kill(child)
                await child.wait()
        self.ready.clear()
