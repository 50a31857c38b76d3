"""A watchdog for hung tests: a test (setup, call and teardown) still going after BATON_TEST_WATCHDOG
seconds (default 600) has every thread's stack and every asyncio task's stack printed to stderr, so a hang
says where it is; after twice that, the run ends (exit code 3) instead of idling until CI's own limit.
`BATON_TEST_WATCHDOG=0` turns it off (e.g. under a debugger)."""

from __future__ import annotations

import asyncio
import faulthandler
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

import pytest

_loop: asyncio.AbstractEventLoop | None = None
_config: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def _uncaptured() -> AbstractContextManager[object]:
    """pytest captures stderr per test and shows it only when the test ends, which a hung one never does:
    the dump goes to the real stderr."""
    capture = _config.pluginmanager.getplugin("capturemanager") if _config else None
    return capture.global_and_fixture_disabled() if capture else nullcontext()


def seconds() -> float:
    return float(os.environ.get("BATON_TEST_WATCHDOG", "600"))


@pytest.fixture(scope="session", autouse=True)
async def watched_loop() -> None:
    """The tests' event loop, for the dump of its tasks."""
    global _loop
    _loop = asyncio.get_running_loop()


def dump(test: str, waited: float) -> None:
    with _uncaptured():
        _dump(test, waited)


def _dump(test: str, waited: float) -> None:
    out = sys.stderr
    out.write(f"\n=== watchdog: {test} still running after {waited:.0f} s; stacks follow ===\n")
    out.flush()
    faulthandler.dump_traceback(file=out, all_threads=True)
    loop = _loop
    if loop is not None and not loop.is_closed():
        try:
            tasks = list(asyncio.all_tasks(loop))
        except RuntimeError:  # the set changed while we read it (another thread's loop): once more
            tasks = list(asyncio.all_tasks(loop))
        out.write(f"--- {len(tasks)} asyncio tasks ---\n")
        for task in tasks:
            text = io.StringIO()
            task.print_stack(limit=30, file=text)
            out.write(f"{task!r}\n{text.getvalue()}\n")
    out.write("=== end of watchdog dump ===\n")
    out.flush()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    limit = seconds()
    if limit <= 0:
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def watch() -> None:
        if done.wait(limit):
            return
        dump(item.nodeid, time.monotonic() - started)
        if done.wait(limit):
            return
        dump(item.nodeid, time.monotonic() - started)
        with _uncaptured():
            sys.stderr.write(f"=== watchdog: {item.nodeid} hung for {2 * limit:.0f} s; ending the run ===\n")
            sys.stderr.flush()
            os._exit(3)

    thread = threading.Thread(target=watch, name="test-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
