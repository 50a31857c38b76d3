"""`baton dev`'s console: one readable line per request and per run event, prefixed with the process that
says it, and tracebacks only for Baton's own errors.

A step that fails is a user's event (a 503 from their API, a bad expression), not Baton's: it is one line,
`worker  run 1f3a2b4c  Step 'fetch' failed: 503 Service Unavailable`, not the SDK's traceback of the
activity. `baton dev --verbose` shows everything as the processes log it (DEBUG, tracebacks, the SDK's
warnings). The processes `baton dev` starts read BATON_CONSOLE (their name) and BATON_CONSOLE_VERBOSE.
"""

from __future__ import annotations

import logging
import os
import sys

CONSOLE_ENV = "BATON_CONSOLE"
VERBOSE_ENV = "BATON_CONSOLE_VERBOSE"
# The worker logs each run event on this logger (activities.records), at INFO when the console shows it.
RUN_EVENTS = "baton.runs"
# What a developer does not need to read to follow their runs: the servers' start-up chatter, the SDK's
# per-attempt failure reports (the run event says it in one line), slow-task warnings caused by retries.
QUIET = {
    "uvicorn.error": logging.WARNING,
    "temporalio.activity": logging.ERROR,
    "temporalio.workflow": logging.ERROR,
    "temporalio.worker._workflow_instance": logging.ERROR,
    "temporalio.worker._activity": logging.ERROR,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}
USER_ERRORS = ("ApplicationError", "ActivityError", "ChildWorkflowError", "StepFailed", "CancelledError")


class ConsoleFormatter(logging.Formatter):
    """`14:02:07 api     POST /hooks/ab12… 202` — the time, the process, the line; the level only when it
    is a warning or worse; a traceback only when the exception is not a user's event."""

    def __init__(self, process: str) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        message = _access_line(record) if record.name == "uvicorn.access" else record.getMessage()
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname.lower()}: {message}"
        line = f"{self.formatTime(record, self.datefmt)} {self.process:<7} {message}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            if _users(error):
                return f"{line}: {error}"
            return f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _access_line(record: logging.LogRecord) -> str:
    """uvicorn's access record (client, method, path, version, status) as `METHOD path status`."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        _, method, path, _, status = args
        return f"{method} {_short(str(path))} {status}"
    return record.getMessage()


def _short(path: str) -> str:
    """Paths with secrets in them (`/hooks/{token}`, approval links) shortened so the token is not shown."""
    for prefix in ("/hooks/", "/api/v1/approval-links/"):
        if path.startswith(prefix):
            token = path[len(prefix) :]
            return prefix + (token[:4] + "…" if token else "")
    return path


def _not_a_health_check(record: logging.LogRecord) -> bool:
    """The supervisor's polls of /healthz while the API starts are not the developer's requests."""
    args = record.args
    return not (record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5
                and args[2] == "/healthz")  # fmt: skip


def _users(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if type(seen).__name__ in USER_ERRORS:
            return True
        seen = seen.__cause__
    return False


def configure() -> bool:
    """Sets up the console of a process `baton dev` started; False (nothing done) for any other process."""
    process = os.environ.get(CONSOLE_ENV)
    if not process:
        return False
    verbose = os.environ.get(VERBOSE_ENV) == "1"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ConsoleFormatter(process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        handler.addFilter(_not_a_health_check)
        for name, level in QUIET.items():
            logging.getLogger(name).setLevel(level)
    logging.getLogger(RUN_EVENTS).setLevel(logging.INFO)
    return True


def uvicorn_log_config() -> dict[str, object] | None:
    """For uvicorn.run(log_config=...): None (keep the console's handlers) under `baton dev`."""
    return None if os.environ.get(CONSOLE_ENV) else {}
