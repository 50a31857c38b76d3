"""What the worker and a sandbox child say to each other: one JSON job on the child's stdin, one JSON answer
on its stdout, and the failure kinds an answer may name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Language = Literal["python", "javascript"]
# error: the script raised (or failed to parse); timeout, memory, output: a limit was reached;
# result: it returned something that is not JSON
FailureKind = Literal["error", "syntax", "timeout", "memory", "output", "result"]
# how many lines of print()/console.log the answer carries, and how long each may be
MAX_LOG_LINES = 100
MAX_LOG_LINE = 1000
# the most a step may ask for (the action's input bounds them; the child's OS limits are set from them)
MAX_TIMEOUT_SECONDS = 60
MAX_MEMORY_BYTES = 512 * 2**20
MAX_OUTPUT_BYTES = 4 * 2**20


@dataclass
class Job:
    language: Language
    source: str
    input: Any
    # the sandbox's clock: milliseconds since the Unix epoch, frozen for the whole script
    now_ms: int
    timeout_seconds: float
    memory_bytes: int
    max_output_bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    ok: bool
    # the result as JSON text (so its size is what the limit measured)
    result_json: str = "null"
    logs: list[str] = field(default_factory=list)
    kind: FailureKind | None = None
    message: str = ""
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failed(kind: FailureKind, message: str, line: int | None = None, column: int | None = None) -> Answer:
    return Answer(ok=False, kind=kind, message=message, line=line, column=column)


def kept_logs(lines: list[str]) -> list[str]:
    return [line[:MAX_LOG_LINE] for line in lines[:MAX_LOG_LINES]]


def timed_out(job: Job, line: int | None = None, column: int | None = None) -> Answer:
    return failed("timeout", f"the script ran longer than its {job.timeout_seconds:g} s limit", line, column)


def out_of_memory(job: Job, line: int | None = None, column: int | None = None) -> Answer:
    return failed(
        "memory", f"the script used more than its {job.memory_bytes // 2**20} MiB of memory", line, column
    )


def too_large(job: Job) -> Answer:
    return failed(
        "output", f"the script's result is larger than its {job.max_output_bytes // 1024} KiB limit"
    )
