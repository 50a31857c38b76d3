"""Hosted forms: `GET /forms/{token}` shows the form a webhook trigger declares (`triggerConfig.form`),
`POST /forms/{token}` checks what was sent (core.forms) and starts a run through the webhook's own ingress
(its auth, rate limit, quota and idempotency apply), with the typed values as `trigger.body` and any files
as `trigger.files`.

The token is the webhook's, so the form's address is its webhook's with `/forms/` for `/hooks/`; a
workflow without a form has no page (404). A submission with mistakes answers 422 with the form again, the
values kept and each mistake beside its field; a sent form answers a page saying so. Plain HTML, no script.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.deps import ResourcesDep
from api.limits import is_file_body
from api.pages import form_page, page
from api.resources import Resources
from api.uploads import MAX_FIELDS, MAX_FILES, InvalidUpload, SpooledUpload
from core.files import FileTooLarge
from core.forms import Form
from core.triggers.ingress import Accepted, HookCall, Refused, WebhookIngress

router = APIRouter(prefix="/forms", tags=["webhooks"], include_in_schema=False)
GONE = "This form is not available"
# What a run of a sent form keeps of the request's headers: who sent it from where, not its credentials.
KEPT_HEADERS = ("user-agent", "referer", "accept-language")


async def form_of(resources: Resources, token: str) -> Form | None:
    target = await resources.webhooks.target(token)
    if target is None or not target.is_active or target.form is None:
        return None
    return Form.model_validate(target.form)


def gone() -> HTMLResponse:
    return page(GONE, "<p>The link may be wrong, or the form was taken down.</p>", 404)


@router.get("/{token}", response_class=HTMLResponse)
async def show(token: str, resources: ResourcesDep) -> Response:
    """The form's page."""
    form = await form_of(resources, token)
    return gone() if form is None else form_page(form, token)


@router.post("/{token}", response_class=HTMLResponse)
async def send(token: str, request: Request, resources: ResourcesDep) -> Response:
    """Checks the answers; with mistakes, the form again (422); else a run starts and a page says so."""
    form = await form_of(resources, token)
    if form is None:
        return gone()
    upload: SpooledUpload | None = None
    try:
        if is_file_body(request.headers.get("content-type")):
            if resources.blobs is None:
                return page("Files cannot be sent here", "<p>This Baton keeps no files.</p>", 415)
            try:
                upload = await SpooledUpload.receive(request, resources.settings.webhook_file_max_bytes)
            except FileTooLarge as exc:
                return page("Too large", f"<p>{html.escape(str(exc))}</p>", 413)
            sent, files = await _multipart_fields(upload)
            raw = upload.body
        else:
            raw = await request.body()
            sent, files = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True), []
        values, errors = form.check(sent, files)
        if errors:
            return form_page(form, token, {**_shown(sent), **values}, errors, 422)
        return await _start(token, request, resources, form, values, raw, upload)
    except InvalidUpload as exc:
        return page("The form could not be read", f"<p>{html.escape(str(exc))}</p>", 400)
    finally:
        if upload is not None:
            upload.close()


async def _start(
    token: str,
    request: Request,
    resources: Resources,
    form: Form,
    values: dict[str, Any],
    raw: bytes,
    upload: SpooledUpload | None,
) -> Response:
    async def attach(workspace_id: str, execution_id: str) -> dict[str, Any]:
        assert upload is not None
        kept = await upload.keep(
            resources.blobs, workspace_id, execution_id, resources.settings.webhook_file_max_bytes
        )
        return {"files": kept["files"]}  # the body is the checked values, not the raw text fields

    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    call = HookCall(
        token=token,
        method="POST",
        headers=request.headers,
        query="",
        body=raw,
        trigger=lambda: {"body": values, "headers": headers, "query": {}, "method": "POST", "form": True},
        attach=attach if upload is not None else None,
    )
    ingress = WebhookIngress(
        resources.webhooks, resources.redis, resources.keys, resources.settings, resources.run_service
    )
    outcome = await ingress.receive(call)
    if isinstance(outcome, Refused):
        return page("The form could not be sent", f"<p>{html.escape(outcome.detail)}</p>", outcome.status)
    done = page(form.title or "Sent", f"<p role=status>{html.escape(form.done_message)}</p>")
    if isinstance(outcome, Accepted):
        done.headers["X-Baton-Execution-Id"] = outcome.execution_id
    return done


async def _multipart_fields(upload: SpooledUpload) -> tuple[dict[str, Any], list[str]]:
    """A multipart form's text fields, and the names of its file fields that came with a file."""
    parser = MultiPartParser(upload.headers, upload.chunks(), max_files=MAX_FILES, max_fields=MAX_FIELDS)
    try:
        parsed = await parser.parse()
    except MultiPartException as exc:
        raise InvalidUpload(f"the form cannot be read: {exc.message}") from exc
    fields: dict[str, Any] = {}
    files: list[str] = []
    try:
        for name, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                if value.filename:
                    files.append(name)
            else:
                fields.setdefault(name, []).append(value)
    finally:
        await parsed.close()
    return fields, files


def _shown(sent: dict[str, Any]) -> dict[str, Any]:
    """What was sent, as the form shows it back (the last value of each field)."""
    return {k: (v[-1] if isinstance(v, list) and v else v) for k, v in sent.items()}
