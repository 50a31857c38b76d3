"""A run's values as the API shows them: its trigger, its result, and each step's input and output are
inlined up to INLINE_VALUE_BYTES of JSON; a larger one (a run with a blob store hands on values up to
MAX_VALUE_BYTES) is answered as a small reference, `{stored, size, contentType, url}`, and read whole from
its own URL (`GET .../executions/{id}/values/{ref}`), with the run's access rules: the run is looked up in
the caller's workspace first, so another workspace's run is not found.

A value's `ref` names where it is kept: `trigger`, `result`, `steps/{stepExecutionId}/input`,
`steps/{stepExecutionId}/output`. The values stay in the run's rows (PostgreSQL), so they go with the run
(retention, a deleted workspace); what Temporal's history holds is the claim check's (core.blobs.claims)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.contract.names import payload_bytes
from core.errors import NotFound
from core.models import StepExecution, Workflow, WorkflowExecution
from core.runs import reads

JSON = "application/json"
CHUNK = 64 * 1024
_STEP_REF = re.compile(r"steps/(?P<id>[0-9a-fA-F-]{1,64})/(?P<field>input|output)")
EXECUTION_VALUES = ("trigger", "result")
EXECUTION_COLUMNS = {"trigger": "trigger_data", "result": "result"}

Link = Callable[[str], str]  # a value's ref -> the URL that reads it


def shown(value: Any, ref: str, limit: int, link: Link) -> Any:
    """`value` itself when its JSON is at most `limit` bytes, else a reference to read it."""
    size = payload_bytes(value, limit)
    if size <= limit:
        return value
    return {"stored": True, "size": size, "contentType": JSON, "url": link(ref)}


def shown_execution(row: dict[str, Any], limit: int, link: Link) -> dict[str, Any]:
    """An execution's fields (snake_case, as its model dumps them) with its large values referenced."""
    return {
        **row,
        **{column: shown(row.get(column), ref, limit, link) for ref, column in EXECUTION_COLUMNS.items()},
    }


def shown_step(row: dict[str, Any], limit: int, link: Link) -> dict[str, Any]:
    step = str(row["id"])
    return {
        **row,
        "input": shown(row.get("input"), f"steps/{step}/input", limit, link),
        "output": shown(row.get("output"), f"steps/{step}/output", limit, link),
    }


@dataclass(frozen=True)
class Value:
    size: int
    content_type: str
    body: bytes

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), CHUNK):
            yield self.body[start : start + CHUNK]


async def workspaces_of(session: AsyncSession, executions: list[WorkflowExecution]) -> dict[str, str]:
    """The workspace of each execution's workflow, by workflow id (for the URLs of their values)."""
    ids = sorted({e.workflow_id for e in executions})
    if not ids:
        return {}
    rows = await session.exec(select(Workflow.id, Workflow.workspace_id).where(col(Workflow.id).in_(ids)))
    return {str(workflow_id): str(workspace_id) for workflow_id, workspace_id in rows.all()}


async def read(session: AsyncSession, workspace_id: str, execution_id: str, ref: str) -> Value:
    """The value `ref` of the run `execution_id` of workspace `workspace_id`, as JSON; NotFound when the run
    is not the workspace's, the ref names nothing, or the step is another run's."""
    execution = await reads.get(session, workspace_id, execution_id)
    if ref in EXECUTION_COLUMNS:
        value = getattr(execution, EXECUTION_COLUMNS[ref])
    elif match := _STEP_REF.fullmatch(ref):
        query = select(StepExecution).where(
            StepExecution.id == match.group("id"), StepExecution.execution_id == execution.id
        )
        step = (await session.exec(query)).first()
        if step is None:
            raise NotFound("step execution not found")
        value = getattr(step, match.group("field"))
    else:
        raise NotFound(f"no value {ref!r}: trigger, result, steps/{{stepExecutionId}}/input or /output")
    body = json.dumps(value, separators=(",", ":")).encode()  # as payload_bytes counts it
    return Value(len(body), JSON, body)
