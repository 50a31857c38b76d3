"""The public webhook ingress: `POST /hooks/{token}` (and the other methods a workflow allows).

No bearer token: the unguessable token is the address, and a webhook with a secret also wants its calls
signed in the webhook's scheme (core.triggers.signatures: Standard Webhooks for Baton's secrets, GitHub's,
Stripe's or Slack's), fresh (within WEBHOOK_SIGNATURE_TOLERANCE_SECONDS) and not seen before. Async mode
answers 202 once the run is durably started in Temporal; sync mode answers with the run's `respond` step
(or its result) within `syncTimeoutSeconds`, else 202 and the run carries on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field

from api.deps import ResourcesDep
from api.errors import ErrorBody, error_response, error_responses
from api.limits import is_file_body, is_json
from api.schemas.base import ApiModel
from api.uploads import InvalidUpload, SpooledUpload
from core.blobs import BlobStore
from core.definition.steps import refused_response_header
from core.files import FileError, FileTooLarge, describe_file, file_ref, open_file, serving_headers
from core.json_input import loads
from core.runs import SyncReply
from core.triggers.ingress import Debounced, HookCall, Refused, Replayed, WebhookIngress

router = APIRouter(tags=["webhooks"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Request headers never kept in a run's trigger data (they are the sender's credentials, not its data).
DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
EXECUTION_HEADER = "X-Baton-Execution-Id"
# What a `respond` step's answer always carries, whatever the workflow says.
RESPOND_HEADERS = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
BATON_OWNED_HEADERS = frozenset(name.lower() for name in RESPOND_HEADERS)


class HookAccepted(ApiModel):
    execution_id: str | None = Field(
        description="The run started (null for a debounced call: its burst's run starts later)"
    )
    status: str = "PENDING"
    replayed: bool = False
    debounced: bool = Field(
        default=False,
        description="A debounced webhook (triggerConfig.debounce): the call joined its key's burst, whose "
        "one run starts `runsAfterSeconds` after the burst's last call, with that call's trigger",
    )
    runs_after_seconds: float | None = Field(default=None, description="A debounced call: the quiet time")


def parse_body(request: Request, raw: bytes) -> Any:
    if not raw:
        return None
    content_type = request.headers.get("content-type", "")
    if is_json(content_type):  # parsed and checked once, by api.limits.check_request_text
        return (
            getattr(request.state, "json_body", None) if hasattr(request.state, "json_body") else loads(raw)
        )
    text = raw.decode("utf-8", errors="replace")
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True).items()}
    return text


def trigger_data(request: Request, raw: bytes) -> dict[str, Any]:
    """The run's `trigger`: {body, headers, query, method}, as DEFINITION.md fixes it."""
    return {
        "body": parse_body(request, raw),
        "headers": {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS},
        "query": dict(request.query_params),
        "method": request.method,
    }


def reply_response(reply: SyncReply, execution_id: str) -> Response:
    """A sync webhook's answer. A `respond` step's body is served from Baton's origin, so it is sandboxed
    (`Content-Security-Policy: sandbox`: no script, no same-origin access to the API), never sniffed into
    another type, and may not set cookies or CORS headers (dropped here too: a computed `headers` value
    is only known at run time)."""
    headers = {EXECUTION_HEADER: execution_id}
    if reply.kind == "respond" and reply.response is not None:
        extra = answer_headers(reply.response)
        body = reply.response.get("body")
        code = int(reply.response.get("status") or 200)
        if isinstance(body, str) and "content-type" in {k.lower() for k in extra}:
            return Response(body, status_code=code, headers={**extra, **headers})
        return JSONResponse(body, status_code=code, headers={**extra, **headers})
    if reply.kind == "finished":
        return JSONResponse(reply.result, status_code=200, headers=headers)
    if reply.kind == "failed":
        # The caller is not the workflow's author: the run's error names the URLs its steps called (Baton's
        # own servers, the author's internal services) and the start of what they answered. The author
        # finds it under the execution id; a workflow that owes its caller an explanation has a `respond`.
        failed = ErrorBody(error="run_failed", detail=f"the run failed (execution {execution_id})")
        return JSONResponse(
            {**failed.model_dump(), "executionId": execution_id}, status_code=502, headers=headers
        )
    accepted = HookAccepted(execution_id=execution_id, status="RUNNING")
    return JSONResponse(accepted.model_dump(by_alias=True), status_code=202, headers=headers)


def answer_headers(response: dict[str, Any]) -> dict[str, str]:
    """A `respond` step's headers as they may be sent, with the ones Baton always sets."""
    extra = {
        str(k): str(v)
        for k, v in (response.get("headers") or {}).items()
        if not refused_response_header(str(k)) and str(k).lower() not in BATON_OWNED_HEADERS
    }
    extra.update(RESPOND_HEADERS)
    return extra


async def file_reply(
    response: dict[str, Any], execution_id: str, blobs: BlobStore | None, workspace_id: str | None
) -> Response:
    """A `respond` step that answers with a file: its bytes streamed from the store, with the file's own
    length, type and name (as an attachment, never sniffed), whatever the step's headers say of them."""
    try:
        ref = await describe_file(blobs, workspace_id or "", file_ref(response["file"], "file").file_id)
    except (FileError, ValueError):
        failed = ErrorBody(
            error="run_failed",
            detail=f"the run's reply names a file it cannot serve (execution {execution_id})",
        )
        return JSONResponse(
            {**failed.model_dump(), "executionId": execution_id},
            status_code=502,
            headers={EXECUTION_HEADER: execution_id},
        )
    owned = {name.lower() for name in serving_headers(ref)}
    headers = {k: v for k, v in answer_headers(response).items() if k.lower() not in owned}
    headers.update({**serving_headers(ref), EXECUTION_HEADER: execution_id})
    code = int(response.get("status") or 200)
    return StreamingResponse(open_file(blobs, workspace_id or "", ref), status_code=code, headers=headers)


async def receive(token: str, request: Request, resources: ResourcesDep) -> Response:
    """Starts one run of the workflow behind `token` with `{body, headers, query, method}` as its trigger.

    - A webhook with a secret wants each call signed or authenticated in its scheme (401 naming the header
      otherwise); a signed one takes no query string (400: no scheme signs the URL), a `basic` or `header`
      one does (the credential vouches for the whole call); a signed call seen before (the same
      `webhook-id`, or the same signature) answers the first execution id and starts nothing (on a debounced
      webhook, no id: the burst's run starts later; the replay does not join the burst). Only a call whose
      signature passes is counted in the webhook's stats.
    - `Idempotency-Key` (unsigned webhooks): the same key within 24 h answers the first execution id and
      starts nothing.
    - 404 when the token is unknown or its workflow inactive; 429 when the workspace's monthly quota is used
      or the webhook's calls per minute (WEBHOOK_RATE_LIMIT_PER_MINUTE) are, with Retry-After.
    - Files: a multipart/form-data upload or a binary body (a PDF, an image, application/octet-stream) is
      spooled to disk as it arrives (WEBHOOK_FILE_MAX_BYTES at most, 413 above) and kept as the run's files
      (api.uploads): `trigger.files` lists their references, a form's text fields are `trigger.body`.

    The use case is core.triggers.ingress; this translates HTTP to a HookCall and its outcome back.
    """
    upload: SpooledUpload | None = None
    if is_file_body(request.headers.get("content-type")):
        if resources.blobs is None:
            return error_response(
                415,
                "unsupported_media_type",
                "this Baton keeps no files (BLOB_STORE_URL is not set): send JSON, text or a form",
                "body",
            )
        limit = resources.settings.webhook_file_max_bytes
        try:
            upload = await SpooledUpload.receive(request, limit)
        except FileTooLarge as exc:
            return error_response(413, "payload_too_large", str(exc), "body")
    try:
        return await _received(token, request, resources, upload)
    except InvalidUpload as exc:
        return error_response(400, "invalid_body", str(exc), "body")
    finally:
        if upload is not None:
            upload.close()


async def _received(
    token: str, request: Request, resources: ResourcesDep, upload: SpooledUpload | None
) -> Response:
    raw = upload.body if upload is not None else await request.body()
    blobs, limit = resources.blobs, resources.settings.webhook_file_max_bytes
    call = HookCall(
        token=token,
        method=request.method,
        headers=request.headers,
        query=request.url.query,
        body=raw,
        trigger=lambda: trigger_data(request, b"" if upload is not None else raw),
        attach=(lambda ws, run: upload.keep(blobs, ws, run, limit)) if upload is not None else None,
    )
    ingress = WebhookIngress(
        resources.webhooks, resources.redis, resources.keys, resources.settings, resources.run_service
    )
    outcome = await ingress.receive(call)
    if isinstance(outcome, Refused):
        response = error_response(outcome.status, outcome.kind, outcome.detail, outcome.path)
        response.headers.update(outcome.headers)
        return response
    if isinstance(outcome, Replayed):
        first = outcome.execution_id  # None: the first call joined a debounced burst, whose run starts later
        replayed = HookAccepted(execution_id=first, replayed=True, debounced=first is None)
        return JSONResponse(
            replayed.model_dump(by_alias=True),
            status_code=202,
            headers={"Idempotent-Replayed": "true", **({EXECUTION_HEADER: first} if first else {})},
        )
    if isinstance(outcome, Debounced):
        held = HookAccepted(execution_id=None, debounced=True, runs_after_seconds=outcome.seconds)
        return JSONResponse(held.model_dump(by_alias=True), status_code=202)
    if outcome.reply is not None:
        answer = outcome.reply.response if outcome.reply.kind == "respond" else None
        if answer is not None and answer.get("file") is not None:
            return await file_reply(answer, outcome.execution_id, resources.blobs, outcome.workspace_id)
        return reply_response(outcome.reply, outcome.execution_id)
    accepted = HookAccepted(execution_id=outcome.execution_id)
    return JSONResponse(
        accepted.model_dump(by_alias=True), status_code=202, headers={EXECUTION_HEADER: outcome.execution_id}
    )


for method in METHODS:  # one route per method, so each has its own OpenAPI operation id
    router.add_api_route(
        "/hooks/{token}",
        receive,
        methods=[method],
        status_code=status.HTTP_202_ACCEPTED,
        response_model=HookAccepted,
        responses={
            200: {
                "description": "Sync mode: the run's `respond` step (status, headers and body) or its result"
            },
            **error_responses(400, 401, 404, 413, 429),
            415: {"description": "Files (multipart or a binary body) sent to a Baton that keeps none"},
            405: {"description": "The workflow does not accept this method"},
            502: {"description": "Sync mode: the run failed"},
        },
        summary=f"Receive a webhook call ({method})",
        operation_id=f"receive_webhook_{method.lower()}",
    )
