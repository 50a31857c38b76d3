"""The approvals inbox: approval steps of a workspace's runs, pending (the run waits on them: their row's
state is an approval's wait, core.runs.waits) or decided (their row ended with the decision)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import InvalidInput
from core.forms import FormField, answer_problems
from core.models import ExecutionStatus
from core.models.enums import OPEN_STATUSES
from core.models.tables import STEP_EXECUTIONS as STEPS
from core.models.tables import WORKFLOW_EXECUTIONS as EXECUTIONS
from core.models.tables import WORKFLOWS
from core.runs.waits import ApprovalWait, parse_wait

APPROVAL = ApprovalWait.model_fields["for_"].default  # the `for` of an approval's wait

ApprovalStatus = Literal["pending", "decided", "all"]


@dataclass(frozen=True)
class Approval:
    execution_id: str
    step_id: str
    workflow_id: str
    workflow_name: str
    status: Literal["pending", "decided"]
    message: str | None
    approvers: list[str]
    requested_at: datetime | None
    expires_at: str | None
    default_decision: str | None
    decision: dict[str, Any] | None  # decided: {approved, by, comment, timedOut?}
    decided_at: datetime | None
    # an agent step's tool call: the tool and the arguments proposed (None for an approval step)
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    # a human step that asks for one of several choices, or for values (core.forms fields, as JSON)
    choices: list[str] | None = None
    fields: list[dict[str, Any]] | None = None
    # an agent step's tool call waiting: its number in the step (its signed links name it)
    call: int | None = None

    def may_decide(self, user_id: str | None) -> bool:
        """Whether this user is among the approvers (any member when the step names none)."""
        return self.status == "pending" and (not self.approvers or user_id in self.approvers)


def _approval_rows() -> Any:
    """Approval step rows with their run's workflow and status, newest request first."""
    return (
        select(
            STEPS.c.execution_id,
            STEPS.c.step_id,
            STEPS.c.step_type,
            STEPS.c.state,
            STEPS.c.output,
            STEPS.c.started_at,
            STEPS.c.completed_at,
            EXECUTIONS.c.workflow_id,
            EXECUTIONS.c.status.label("run_status"),
            WORKFLOWS.c.name,
        )
        .join(EXECUTIONS, EXECUTIONS.c.id == STEPS.c.execution_id)
        .join(WORKFLOWS, WORKFLOWS.c.id == EXECUTIONS.c.workflow_id)
        .order_by(STEPS.c.started_at.desc())
    )


async def approval_of(connection: AsyncConnection, execution_id: str, step_id: str) -> Approval | None:
    """One approval step of a run (or an agent step, whose tool calls wait for approval), pending or decided,
    whatever its workspace (for its signed links)."""
    query = _approval_rows().where(
        STEPS.c.execution_id == execution_id,
        STEPS.c.step_id == step_id,
        STEPS.c.step_type.in_(("approval", "agent")),
    )
    row = (await connection.execute(query.limit(1))).first()
    return _approval(row) if row is not None else None


def _approval(row: Any) -> Approval:
    # a decided approval's row keeps the state it waited with (what was asked)
    asked = parse_wait(row.state)
    wait = asked if isinstance(asked, ApprovalWait) else ApprovalWait(default_decision="")
    waiting = isinstance(asked, ApprovalWait) and row.run_status in OPEN_STATUSES
    return Approval(
        execution_id=row.execution_id,
        step_id=row.step_id,
        workflow_id=row.workflow_id,
        workflow_name=row.name,
        status="pending" if waiting else "decided",
        # a decided approval's row waits no more: its output keeps the message (since the interpreter's
        # rendered-approval-message)
        message=wait.message if waiting else _decided_message(row.output) or wait.message,
        approvers=list(wait.approvers),
        requested_at=row.started_at,
        expires_at=wait.expires_at,
        default_decision=wait.default_decision or None,
        decision=None if waiting else row.output,
        decided_at=None if waiting else row.completed_at,
        tool=wait.tool,
        arguments=wait.arguments,
        choices=wait.choices,
        fields=wait.fields,
        call=wait.call,
    )


def checked_answer(
    approval: Approval | None, approved: bool | None, choice: str | None, values: dict[str, Any] | None
) -> bool:
    """Whether the answer approves, once it is one the step asked for; InvalidInput naming the field
    otherwise (`choice`, `values.<name>`). Left out, `approved` follows a choice or values given."""
    if approved is None:
        if choice is None and values is None:
            raise InvalidInput("give approved (true or false), a choice or values", path="approved")
        approved = True
    if approval is not None:
        fields = [FormField.model_validate(f) for f in approval.fields or []]
        problems = answer_problems(approved, choice, values, approval.choices, fields)
        if problems:
            path, sentence = problems[0]
            raise InvalidInput(f"{path}: {sentence}", path=path)
    return approved


def _decided_message(output: Any) -> str | None:
    message = output.get("message") if isinstance(output, dict) else None
    return message if isinstance(message, str) else None


async def list_approvals(
    connection: AsyncConnection,
    workspace_id: str,
    *,
    status: ApprovalStatus = "pending",
    workflow_id: str | None = None,
    execution_id: str | None = None,
    limit: int = 50,
) -> list[Approval]:
    """Newest request first."""
    pending = and_(
        STEPS.c.state.is_not(None),
        STEPS.c.state["for"].astext == APPROVAL,
        EXECUTIONS.c.status.in_(OPEN_STATUSES),
    )
    # an approval step decided, or an agent step that ended with tool calls a person decided
    decided = and_(STEPS.c.step_type == "approval", STEPS.c.status == ExecutionStatus.SUCCESS.value)
    decided = decided | _agent_decided()
    which = {"pending": pending, "decided": decided, "all": pending | decided}[status]
    query = _approval_rows().where(WORKFLOWS.c.workspace_id == workspace_id, which).limit(limit)
    if workflow_id is not None:
        query = query.where(EXECUTIONS.c.workflow_id == workflow_id)
    if execution_id is not None:
        query = query.where(STEPS.c.execution_id == execution_id)
    found: list[Approval] = []
    for row in await connection.execute(query):
        ended_agent = row.step_type == "agent" and row.state is None
        found.extend(_agent_calls(row) if ended_agent else [_approval(row)])
    return found[:limit]


def _agent_decided() -> Any:
    return and_(
        STEPS.c.step_type == "agent",
        STEPS.c.state.is_(None),
        STEPS.c.output["toolCalls"].contains([{"approval": {}}]),
    )


def _agent_calls(row: Any) -> list[Approval]:
    """An ended agent step's tool calls a person decided, its last call first (as the list, newest first):
    each with the tool, the arguments called with (edited ones if the decision edited them) and the
    decision."""
    calls = row.output.get("toolCalls") if isinstance(row.output, dict) else None
    decided = [c for c in calls or [] if isinstance(c, dict) and isinstance(c.get("approval"), dict)]
    return [
        Approval(
            execution_id=row.execution_id,
            step_id=row.step_id,
            workflow_id=row.workflow_id,
            workflow_name=row.name,
            status="decided",
            message=f"{row.step_id} wants to call {call.get('name')}",
            approvers=[],
            requested_at=row.started_at,
            expires_at=None,
            default_decision=None,
            decision=call["approval"],
            decided_at=row.completed_at,
            tool=call.get("name"),
            arguments=call.get("arguments") if isinstance(call.get("arguments"), dict) else None,
            call=call.get("call") if isinstance(call.get("call"), int) else None,
        )
        for call in reversed(decided)
    ]
