"""Code: run a few lines of Python or JavaScript on the step's input when no action fits, in a sandbox with
no network, no file system and no clock beyond the time passed in (integrations/sandbox: what runs the
scripts and why it is safe). It runs on the `code` execution profile, so scripts are served by the workers
an operator gives them (`baton worker --profile code`) and never hold a slot the other steps need."""

from __future__ import annotations

import asyncio
import json
import weakref
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sandbox.protocol import (
    MAX_MEMORY_BYTES,
    MAX_OUTPUT_BYTES,
    MAX_TIMEOUT_SECONDS,
    Answer,
    Job,
)
from integrations.sandbox.runner import Sandbox
from integrations.sdk import Integration

code = Integration(
    id="code",
    name="Code",
    description="Run a few lines of Python or JavaScript on the step's input, in a sandbox",
    icon="/static/icons/code.svg",
    category="core",
    auth_type=AuthType.NONE,
    example="""```json
{"id": "totals", "type": "action", "action": "code.run",
 "input": {"language": "javascript",
           "code": "const total = input.lines.reduce((s, l) => s + l.price * l.qty, 0);\\nreturn {total};",
           "input": {"lines": [{"price": 2.5, "qty": 4}, {"price": 1, "qty": 3}]},
           "now": "{{ execution.startedAt }}"}}
```
The output is `{"result": {"total": 13}, "logs": []}`. In Python the last expression is the result:
`"code": "sum(l['price'] * l['qty'] for l in input['lines'])"`. A script that raises, runs past its time
limit or its memory, or returns more than `maxOutputKb`, fails the step with the script's line and column
(`line 2, column 16: TypeError: ...`).""",
)

# error kind -> the step's error type
ERROR_TYPES = {
    "error": "CodeError",
    "syntax": "CodeSyntaxError",
    "timeout": "CodeTimeLimit",
    "memory": "CodeMemoryLimit",
    "output": "CodeOutputLimit",
    "result": "CodeResultNotJson",
}


class RunCodeInput(BaseModel):
    language: Literal["python", "javascript"]
    code: str = Field(
        min_length=1,
        max_length=100_000,
        description="Python: the value of the last expression is the result. JavaScript: the body of a "
        "function; `return` the result. Both see `input`.",
    )
    input: Any = Field(default=None, description="What the script sees as `input` (expressions allowed)")
    now: datetime | None = Field(
        default=None,
        description="The sandbox's clock, frozen for the script (e.g. {{ execution.startedAt }}); "
        "the Unix epoch when not given",
    )
    time_limit_seconds: float = Field(
        default=5, gt=0, le=MAX_TIMEOUT_SECONDS, alias="timeLimitSeconds", description="Run time allowed"
    )
    memory_mb: int = Field(
        default=64, ge=8, le=MAX_MEMORY_BYTES // 2**20, alias="memoryMb", description="Memory allowed"
    )
    max_output_kb: int = Field(
        default=256, ge=1, le=MAX_OUTPUT_BYTES // 1024, alias="maxOutputKb", description="Largest result"
    )


class RunCodeOutput(BaseModel):
    result: Any = Field(description="What the script returned (JSON)")
    logs: list[str] = Field(description="What it printed (print / console.log), first 100 lines")


# one sandbox per event loop: its warm children and its slots belong to the loop that made them
SANDBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Sandbox] = weakref.WeakKeyDictionary()


def sandbox() -> Sandbox:
    loop = asyncio.get_running_loop()
    if loop not in SANDBOXES:
        SANDBOXES[loop] = Sandbox()
    return SANDBOXES[loop]


def step_error(answer: Answer) -> ActionError:
    where = f"line {answer.line}, column {answer.column}: " if answer.line is not None else ""
    return ActionError(
        f"{where}{answer.message}",
        type=ERROR_TYPES.get(answer.kind or "error", "CodeError"),
        retryable=False,
        details={"line": answer.line, "column": answer.column, "kind": answer.kind},
    )


def job_for(data: RunCodeInput) -> Job:
    now = data.now if data.now is None or data.now.tzinfo else data.now.replace(tzinfo=UTC)
    return Job(
        language=data.language,
        source=data.code,
        input=data.input,
        now_ms=int(now.timestamp() * 1000) if now else 0,
        timeout_seconds=data.time_limit_seconds,
        memory_bytes=data.memory_mb * 2**20,
        max_output_bytes=data.max_output_kb * 1024,
    )


@code.action(
    "run",
    name="Run Code",
    description="Run Python or JavaScript on the input and return its JSON result",
    side_effects=False,
    profile="code",
)
async def run_code(data: RunCodeInput, ctx: ActionContext) -> RunCodeOutput:  # noqa: ARG001
    answer = await sandbox().run(job_for(data))
    if not answer.ok:
        raise step_error(answer)
    return RunCodeOutput(result=json.loads(answer.result_json), logs=answer.logs)
