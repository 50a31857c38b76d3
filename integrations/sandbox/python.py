"""Python in pydantic-monty: a Python interpreter written in Rust for untrusted code (no `open` of real
files, no `os`, `socket` or `subprocess`, no `__import__`, no dunder attributes), run in its own `monty`
worker process with limits on memory, time and recursion enforced inside the interpreter. The script sees
`input`; the value of its last expression is the result. The clock is frozen at the time passed in and
`random` is seeded, so nothing in the script reads the host's time or entropy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.protocol import (
    MAX_TIMEOUT_SECONDS,
    Answer,
    Job,
    failed,
    kept_logs,
    out_of_memory,
    timed_out,
)

SCRIPT_NAME = "script.py"


def where(error: Any) -> tuple[int | None, int | None]:
    """The line and column of the innermost frame of the script a monty error carries, if any."""
    frames = error.traceback() if hasattr(error, "traceback") else []
    if not frames:
        return None, None
    return frames[-1].line, frames[-1].column


class PythonEngine:
    """One monty worker, started before the job arrives (so its start is not the script's wait)."""

    def __init__(self) -> None:
        from pydantic_monty import Monty

        self.pool = Monty(
            min_processes=1,
            max_processes=1,
            max_checkouts_per_worker=1,
            # the interpreter's own time limit stops a script first; this kills a worker stuck outside
            # the interpreter's checks
            request_timeout=MAX_TIMEOUT_SECONDS + 2,
        )
        self.pool.__enter__()

    def run(self, job: Job) -> Answer:
        try:
            return run_python(self.pool, job)
        finally:
            self.pool.__exit__(None, None, None)


def run_python(pool: Any, job: Job) -> Answer:
    from pydantic_monty import (
        CollectString,
        MontyCrashedError,
        MontyError,
        MontyRuntimeError,
        MontySyntaxError,
    )

    now = datetime.fromtimestamp(job.now_ms / 1000, UTC)
    printed = CollectString(max_bytes=100_000)
    try:
        with (
            pool.checkout(
                script_name=SCRIPT_NAME,
                limits={
                    "max_feed_duration_secs": job.timeout_seconds,
                    "max_memory": job.memory_bytes,
                    "max_recursion_depth": 200,
                    "max_suspensions": 100,
                    "max_total_sleep_secs": 0,
                },
                os_policy={"datetime": now, "sleep": "zero", "random_start": {"seed": job.now_ms}},
            ) as session,
        ):
            value = session.feed_run(job.source, inputs={"input": job.input}, print_callback=printed)
    except MontySyntaxError as error:
        line, column = where(error)
        return failed("syntax", error.display("msg"), line, column)
    except MontyRuntimeError as error:
        line, column = where(error)
        message = error.display("type-msg")
        if message.startswith("TimeoutError"):
            return timed_out(job, line, column)
        if message.startswith("MemoryError"):
            return out_of_memory(job, line, column)
        return failed("error", message, line, column)
    except MontyCrashedError as error:
        if error.timed_out:
            return timed_out(job)
        return failed(
            "memory", "the script's interpreter was stopped (it went past an operating system limit)"
        )
    except MontyError as error:
        return failed("error", str(error))
    try:
        result = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        return failed("result", f"the script's last expression is not JSON: {error}")
    return Answer(ok=True, result_json=result, logs=kept_logs(printed.output.splitlines()))
