"""Signed approval links (core.runs.approval_links): GET shows the approval's message with two buttons,
POST decides (core.runs.link_decisions). No login: the link is the credential, it expires, and the pair
works once.

A browser (Accept: text/html) gets pages; any other client the same answers as JSON, errors in the API's
one error shape."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import ResourcesDep
from api.errors import ErrorBody
from api.pages import page
from core.runs.approval_links import InvalidLink, read_link, sibling
from core.runs.approvals import Approval, approval_of
from core.runs.link_decisions import LinkRefused, decide_by_link

router = APIRouter(prefix="/approval-links", tags=["executions"])
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
    return f"<p><strong>{message}</strong></p><p>Workflow: {html.escape(approval.workflow_name)}</p>{expires}"


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
    if approval.status != "pending":
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
            }
        )
    buttons = (
        f"<form method=post action='{html.escape(approve)}'><button type=submit>Approve</button></form>"
        f"<form method=post action='{html.escape(reject)}'><button type=submit>Reject</button></form>"
    )
    return page("Approval requested", f"{_asked(approval)}{buttons}")


@router.post("/{token}", responses=PAGES)
async def decide(token: str, request: Request, resources: ResourcesDep) -> Response:
    """Decides the approval as the link says (approve or reject), once for the pair. An optional form
    field `comment` is kept with the decision."""
    body = await request.body()
    fields = parse_qs(body[:8192].decode("utf-8", "replace")) if body else {}
    comment = (fields.get("comment") or [""])[0][:2000] or None
    outcome = await decide_by_link(
        resources.settings.secret_key,
        resources.redis,
        resources.keys,
        await resources.run_service(),
        token,
        comment,
    )
    if isinstance(outcome, LinkRefused):
        return refused(request, outcome.status, outcome.kind, outcome.title, outcome.detail)
    if not wants_page(request):
        return JSONResponse({"stepId": outcome.step_id, "approved": outcome.approved, "by": outcome.by})
    verdict = "Approved" if outcome.approved else "Rejected"
    return page(verdict, "<p>Thank you: the run goes on with your decision.</p>")
