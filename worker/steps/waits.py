"""Delay and approval steps: durable timers and decisions waited for."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from core.contract import (
        MAX_DELAY_SECONDS,
        ApprovalLinksRequest,
    )
    from core.definition.steps import (
        ApprovalStep,
        DelayStep,
    )
    from core.forms import check_values
    from core.runs.waits import ApprovalWait, DelayWait
    from worker.run_scope import StepFailed
    from worker.run_state import RECORD_TIMEOUT
    from worker.steps.context import StepContext, step_handler


# Since this patch an approval's message is rendered as the step begins (`Refund {{ trigger.body.amount }}
# EUR?` reads `Refund 42 EUR?` in the inbox, the live state, the link's page and the log), its notify steps
# and the steps after it read it as `steps.<id>.output.message`; runs begun before it replay with the
# message as written.
RENDERED_APPROVAL_PATCH = "rendered-approval-message"


def typed_values(step: ApprovalStep, decision: Any) -> dict[str, Any]:
    """The values an approver gave, typed by the step's fields (a number a number, a date YYYY-MM-DD);
    checked already by the update's validator (core.runs.waits.check_answer)."""
    values, _ = check_values(step.fields or [], decision.values or {})
    return values


def as_text(value: Any) -> str:
    """A rendered message as people read it: a value that is one expression (a number, a list) as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


@step_handler(DelayStep)
async def delay(ctx: StepContext, step: DelayStep) -> Any:
    seconds = delay_seconds(ctx, step)
    if seconds > 0:
        until = workflow.now() + timedelta(seconds=seconds)
        wait = DelayWait(until=until.isoformat())
        ctx.waits(wait)
        await ctx.flush()
        try:
            await workflow.sleep(seconds, summary=f"{step.label}: delay")
        finally:
            ctx.waited(wait)
    return {"resumedAt": workflow.now().isoformat()}


def delay_seconds(ctx: StepContext, step: DelayStep) -> float:
    """How long a delay step waits; a value that is no duration or date fails the step, naming it."""
    if step.seconds is not None:
        where = f"step {step.id!r} seconds"
        value = ctx.evaluate(step.seconds, "seconds")
        try:
            seconds = float(value)
        except (TypeError, ValueError, OverflowError):
            raise StepFailed(
                step.id, f"{where}: {value!r} is not a number of seconds", "InvalidValue"
            ) from None
    else:
        where = f"step {step.id!r} until"
        value = ctx.evaluate(step.until, "until")
        try:
            until = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise StepFailed(
                step.id,
                f"{where}: {value!r} is not an ISO 8601 date and time (e.g. 2026-12-24T09:00:00Z)",
                "InvalidValue",
            ) from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=workflow.now().tzinfo)
        seconds = (until - workflow.now()).total_seconds()
    if not math.isfinite(seconds) or seconds > MAX_DELAY_SECONDS:
        raise StepFailed(
            step.id,
            f"{where}: {value!r} is longer than the longest delay ({MAX_DELAY_SECONDS // 31536000} years)",
            "InvalidValue",
        )
    return seconds


async def signed_links(ctx: StepContext, expires: str | None, call: int | None = None) -> dict[str, Any]:
    """The stand-ins of the step's signed approval links (of its tool call `call`, for an agent step), as
    its notify steps read them in its output."""
    which = "its approval links" if call is None else f"the approval links of its call {call}"
    links = await workflow.execute_local_activity_method(
        ApprovalActivities.approval_links,
        ApprovalLinksRequest(ctx.input.execution_id, ctx.step.id, expires, call),
        start_to_close_timeout=RECORD_TIMEOUT,
        summary=f"{ctx.step.label}: sign {which}",
    )
    return {"approveUrl": links.approve_url, "rejectUrl": links.reject_url, "expiresAt": links.expires_at}


@step_handler(ApprovalStep)
async def approval(ctx: StepContext, step: ApprovalStep) -> Any:
    rendered = ctx.patched(RENDERED_APPROVAL_PATCH)
    # an expression error fails the step here, before anyone is asked
    message = as_text(ctx.render(step.message, "message")) if rendered else step.message
    expires = (
        (workflow.now() + timedelta(seconds=step.timeout_seconds)).isoformat()
        if step.timeout_seconds
        else None
    )
    wait = ApprovalWait(
        message=message,
        approvers=step.approvers or [],
        expires_at=expires,
        default_decision=step.default_decision,
        choices=step.choices,
        fields=[f.model_dump(by_alias=True, exclude_defaults=True) for f in step.fields or []] or None,
    )
    ctx.waits(wait)
    if step.notify:  # ask for it: the notify steps read the links' stand-ins in this step's output
        asking = await signed_links(ctx, expires)
        if rendered:
            asking["message"] = message
        ctx.scope.set_output(step.id, asking)
        await ctx.run_steps(step.notify)
    await ctx.flush()
    try:
        decision = await ctx.delivered(step.timeout_seconds)
    except TimeoutError:
        output: dict[str, Any] = {
            "approved": step.default_decision == "approve",
            "by": None,
            "comment": None,
            "timedOut": True,
        }
        output.update({"choice": None} if step.choices else {})  # nobody answered: no choice, no values
        output.update({"values": None} if step.fields else {})
    else:
        output = {"approved": decision.approved, "by": decision.by, "comment": decision.comment}
        if step.choices:
            output["choice"] = decision.choice if decision.approved else None
        if step.fields:
            output["values"] = typed_values(step, decision) if decision.approved else None
    finally:
        ctx.waited(wait)
    if rendered:  # kept with the decision: the inbox shows what was asked once the row stops waiting
        output["message"] = message
    if not output["approved"] and step.on_reject == "fail":
        if output.get("timedOut"):
            why = "nobody decided before it expired (its default decision is reject)"
        else:
            why = f"rejected by {output['by'] or 'an approval link'}"
        comment = f": {output['comment']}" if output.get("comment") else ""
        raise StepFailed(step.id, f"step {step.id!r} was not approved: {why}{comment}", "Rejected")
    return output
