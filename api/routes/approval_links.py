"""Signed approval links (core.runs.approval_links): GET shows the approval's message with two buttons,
POST decides (core.runs.link_decisions). No login: the link is the credential, it expires, and the pair
works once.

A browser (Accept: text/html) gets pages; any other client the same answers as JSON, errors in the API's
one error shape."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import ResourcesDep
from api.errors import ErrorBody
from api.pages import field_html, page
from api.resources import Resources
from core.forms import FormField, check_submission
from core.runs.approval_links import InvalidLink, read_link, sibling
from core.runs.approvals import Approval, approval_of
from core.runs.link_decisions import LinkRefused, decide_by_link

router = APIRouter(prefix="/approval-links", tags=["executions"])
MAX_ANSWER_BYTES = 65536  # a comment, a choice, the values of a step's fields
PAGES: dict[int | str, dict[str, Any]] = {
    code: {"description": description, "model": ErrorBody, "content": {"text/html": {}}}
    for code, description in (
        (404, "The link is not valid, or it expired"),
        (409, "The approval was already decided"),
        (503, "The decision did not reach the run yet; try again"),
    )
}


def wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def refused(request: Request, status: int, kind: str, title: str, detail: str, asked: str = "") -> Response:
    if wants_page(request):
        return page(title, f"{asked}<p>{html.escape(detail)}</p>", status)
    return JSONResponse({"error": kind, "detail": detail, "path": None}, status_code=status)


def _asked(approval: Approval) -> str:
    message = html.escape(approval.message or "(no message)")
    expires = ""
    if approval.expires_at:
        default = "approved" if approval.default_decision == "approve" else "rejected"
        expires = f"<p>If nobody decides by {html.escape(approval.expires_at)}, it is {default}.</p>"
    return (
        f"<p><strong>{message}</strong></p><p>Workflow: {html.escape(approval.workflow_name)}</p>"
        f"{_tool_call(approval)}{expires}"
    )


def _tool_call(approval: Approval) -> str:
    """An agent's tool call: the tool and the arguments the model proposed, as the model wrote them."""
    if approval.tool is None:
        return ""
    arguments = json.dumps(approval.arguments or {}, indent=2, ensure_ascii=False, default=str)
    return f"<p>Tool: <code>{html.escape(approval.tool)}</code></p><pre>{html.escape(arguments)}</pre>"


@router.get("/{token}", responses=PAGES)
async def show(token: str, request: Request, resources: ResourcesDep) -> Response:
    """The approval's message and two buttons (approve, reject); a link that expired or was used says so."""
    try:
        link = read_link(resources.settings.secret_key, token)
    except InvalidLink as exc:
        return refused(request, 404, "not_found", "This link does not work", exc.detail)
    async with resources.engine.connect() as connection:
        approval = await approval_of(connection, link.execution_id, link.step_id)
    if approval is None:
        return refused(request, 404, "not_found", "This link does not work", "the run it belongs to is gone")
    if approval.status != "pending" or approval.call != link.call:  # an agent's call: that very call waits
        detail = "this approval was already decided"
        return refused(request, 409, "conflict", "Already decided", detail, _asked(approval))
    other = sibling(resources.settings.secret_key, link)
    approve, reject = (token, other) if link.approved else (other, token)
    if not wants_page(request):
        return JSONResponse(
            {
                "message": approval.message,
                "workflowName": approval.workflow_name,
                "expiresAt": approval.expires_at,
                "decision": "approve" if link.approved else "reject",
                "choices": approval.choices,
                "fields": approval.fields,
                **({"tool": approval.tool, "arguments": approval.arguments} if approval.tool else {}),
            }
        )
    return page("Approval requested", f"{_asked(approval)}{_answer_forms(approval, approve, reject)}")


def _answer_forms(
    approval: Approval,
    approve: str,
    reject: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    """The approve form (with the step's fields, and a button per choice when it offers choices) and the
    reject button."""
    values, errors = values or {}, errors or {}
    fields = "".join(field_html(f, values.get(f.name), errors.get(f.name)) for f in _fields(approval))
    buttons = (
        "".join(
            f"<button type=submit name=choice value='{html.escape(c)}'>{html.escape(c)}</button> "
            for c in approval.choices or []
        )
        or "<button type=submit>Approve</button>"
    )
    return (
        f"<form method=post action='{html.escape(approve)}'>{fields}{buttons}</form>"
        f"<form method=post action='{html.escape(reject)}'><button type=submit>Reject</button></form>"
    )


def _asked_again(
    resources: Resources, token: str, asked: Approval, shown: dict[str, Any], errors: dict[str, str]
) -> Response:
    """The approve link's page again (422), each mistake beside its field, what was right kept."""
    reject = sibling(resources.settings.secret_key, read_link(resources.settings.secret_key, token))
    summary = "".join(f"<p class=error>{html.escape(e)}</p>" for k, e in errors.items() if k == "choice")
    forms = _answer_forms(asked, token, reject, shown, errors)
    return page("Approval requested", f"{_asked(asked)}{summary}{forms}", 422)


async def _asked_by_link(resources: Resources, token: str) -> Approval | None:
    """What the approve link of `token` asks for (None: a reject link, or no such approval): the answer
    is checked here, so a mistake shows on the page instead of failing in the run."""
    try:
        link = read_link(resources.settings.secret_key, token)
    except InvalidLink:
        return None  # decide_by_link says why
    if not link.approved:
        return None
    async with resources.engine.connect() as connection:
        return await approval_of(connection, link.execution_id, link.step_id)


def _fields(approval: Approval) -> list[FormField]:
    return [FormField.model_validate(f) for f in approval.fields or []]


@router.post("/{token}", responses=PAGES)
async def decide(token: str, request: Request, resources: ResourcesDep) -> Response:
    """Decides the approval as the link says (approve or reject), once for the pair. An optional form
    field `comment` is kept with the decision."""
    body = await request.body()
    fields = parse_qs(body[:MAX_ANSWER_BYTES].decode("utf-8", "replace")) if body else {}
    comment = (fields.get("comment") or [""])[0][:2000] or None
    choice = fields["choice"][-1] if fields.get("choice") else None
    values: dict[str, Any] | None = None
    asked = await _asked_by_link(resources, token)
    if asked is not None and (asked.choices or asked.fields):
        values, errors = check_submission(_fields(asked), fields)
        if asked.choices and choice not in asked.choices:
            errors["choice"] = "Choose one of the buttons."
        if errors:
            shown = {**{k: v[-1] for k, v in fields.items() if v}, **values}
            return _asked_again(resources, token, asked, shown, errors)
        values = values if asked.fields else None
    outcome = await decide_by_link(
        resources.settings.secret_key,
        resources.redis,
        resources.keys,
        await resources.run_service(),
        token,
        comment,
        choice=choice,
        values=values,
    )
    if isinstance(outcome, LinkRefused):
        return refused(request, outcome.status, outcome.kind, outcome.title, outcome.detail)
    if not wants_page(request):
        return JSONResponse({"stepId": outcome.step_id, "approved": outcome.approved, "by": outcome.by})
    verdict = "Approved" if outcome.approved else "Rejected"
    return page(verdict, "<p>Thank you: the run goes on with your decision.</p>")
