"""The public webhook ingress: `POST /hooks/{token}` (and the other methods a workflow allows).

No bearer token: the unguessable token is the address, and a webhook with a secret also wants its calls
signed in the webhook's scheme (core.webhook_signatures: Standard Webhooks for Baton's secrets, GitHub's,
Stripe's or Slack's), fresh (within WEBHOOK_SIGNATURE_TOLERANCE_SECONDS) and not seen before. Async mode
answers 202 once the run is durably started in Temporal; sync mode answers with the run's `respond` step
(or its result) within `syncTimeoutSeconds`, else 202 and the run carries on.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from api.deps import ResourcesDep
from api.errors import error_response, error_responses
from api.limits import is_json
from api.schemas.base import ApiModel
from core.definition.steps import refused_response_header
from core.errors import BatonError, LimitExceeded, NotFound, Unauthenticated
from core.execution import responds_before_the_end
from core.json_input import loads
from core.outages import best_effort
from core.quotas import month_start, next_month
from core.ratelimit import Verdict, hit
from core.runs import SyncReply
from core.webhook_signatures import SignatureRefused, verify

router = APIRouter(tags=["webhooks"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Request headers never kept in a run's trigger data (they are the sender's credentials, not its data).
DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
MAX_IDEMPOTENCY_KEY = 255
EXECUTION_HEADER = "X-Baton-Execution-Id"
# What a `respond` step's answer always carries, whatever the workflow says.
RESPOND_HEADERS = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
BATON_OWNED_HEADERS = frozenset(name.lower() for name in RESPOND_HEADERS)


class HookAccepted(ApiModel):
    execution_id: str
    status: str = "PENDING"
    replayed: bool = False


class BadBody(BatonError):
    kind = "invalid_body"


class UnsignedQuery(BatonError):
    kind = "unsigned_query"


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
        extra = {
            str(k): str(v)
            for k, v in (reply.response.get("headers") or {}).items()
            if not refused_response_header(str(k)) and str(k).lower() not in BATON_OWNED_HEADERS
        }
        extra.update(RESPOND_HEADERS)
        body = reply.response.get("body")
        code = int(reply.response.get("status") or 200)
        if isinstance(body, str) and "content-type" in {k.lower() for k in extra}:
            return Response(body, status_code=code, headers={**extra, **headers})
        return JSONResponse(body, status_code=code, headers={**extra, **headers})
    if reply.kind == "finished":
        return JSONResponse(reply.result, status_code=200, headers=headers)
    if reply.kind == "failed":
        response = error_response(502, "run_failed", f"the run failed: {reply.error}")
        response.headers.update(headers)
        return response
    accepted = HookAccepted(execution_id=execution_id, status="RUNNING")
    return JSONResponse(accepted.model_dump(by_alias=True), status_code=202, headers=headers)


async def receive(token: str, request: Request, resources: ResourcesDep) -> Response:
    """Starts one run of the workflow behind `token` with `{body, headers, query, method}` as its trigger.

    - A webhook with a secret wants each call signed in its scheme (401 naming the header otherwise) and
      no query string (400: no scheme signs the URL); a signed call seen before (the same `webhook-id`, or
      the same signature) answers the first execution id and starts nothing. Only a call whose signature
      passes is counted in the webhook's stats.
    - `Idempotency-Key` (unsigned webhooks): the same key within 24 h answers the first execution id and
      starts nothing.
    - 404 when the token is unknown or its workflow inactive; 429 when the workspace's monthly quota is used
      or the webhook's calls per minute (WEBHOOK_RATE_LIMIT_PER_MINUTE) are, with Retry-After.
    """
    webhooks = resources.webhooks
    target = await webhooks.target(token)
    if target is None or not target.is_active:
        raise NotFound("no active webhook at this address (is the workflow published and active?)")
    if request.method not in target.methods:
        response = error_response(
            405,
            "method_not_allowed",
            f"this webhook accepts {', '.join(target.methods)}; add {request.method} to its trigger's "
            "`methods` to allow it",
        )
        response.headers["Allow"] = ", ".join(target.methods)
        return response
    limit = resources.settings.webhook_rate_limit_per_minute
    if limit:
        verdict = await best_effort(  # Redis out of reach: calls go through unlimited until it is back
            hit(resources.redis, resources.keys.webhook_rate_limit(token), limit=limit, window_seconds=60),
            Verdict(True, limit, 0.0),
            "the webhook rate limit",
        )
        if not verdict.allowed:
            response = error_response(
                429,
                "rate_limited",
                f"this webhook takes at most {limit} calls a minute (WEBHOOK_RATE_LIMIT_PER_MINUTE); "
                "retry after the time in Retry-After",
            )
            response.headers["Retry-After"] = str(math.ceil(verdict.retry_after) or 1)
            return response
    raw = await request.body()
    key = await signed_call(request, raw, resources, webhooks.secret_of(target), target.signature_scheme)
    await webhooks.count_call(target.webhook_id)
    data = trigger_data(request, raw)
    execution_id = str(uuid.uuid4())
    if key is None and (key := request.headers.get("idempotency-key")) is not None:
        if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
            raise BadBody(
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters", path="Idempotency-Key"
            )
    if key is not None:
        first = await webhooks.claim_idempotency_key(target.webhook_id, key, execution_id)
        if first is not None:
            # The first call may have died between claiming the key and starting its run (a crash, a
            # deploy): make sure the run exists, under the id already answered. Nothing is counted or
            # written again when its row is there; Temporal starts a workflow id once.
            runs = await resources.run_service()
            version = await runs.published_version(target.workflow_id)
            await runs.start(version, data, trigger_type="WEBHOOK", execution_id=first, idempotent=True)
            replayed = HookAccepted(execution_id=first, replayed=True)
            return JSONResponse(
                replayed.model_dump(by_alias=True),
                status_code=202,
                headers={EXECUTION_HEADER: first, "Idempotent-Replayed": "true"},
            )
    try:
        runs = await resources.run_service()
        version = await runs.published_version(target.workflow_id)
        await runs.start(version, data, trigger_type="WEBHOOK", execution_id=execution_id)
    except BaseException as exc:
        if key is not None:
            await webhooks.release_idempotency_key(target.webhook_id, key)
        if isinstance(exc, LimitExceeded):
            return quota_exceeded(exc)
        raise
    if target.mode == "sync":
        early = responds_before_the_end(version.definition.get("steps"))
        reply = await runs.reply(execution_id, target.sync_timeout_seconds, early=early)
        return reply_response(reply, execution_id)
    accepted = HookAccepted(execution_id=execution_id)
    return JSONResponse(
        accepted.model_dump(by_alias=True), status_code=202, headers={EXECUTION_HEADER: execution_id}
    )


async def signed_call(
    request: Request, raw: bytes, resources: ResourcesDep, secret: str | None, scheme: str
) -> str | None:
    """The replay key of a signed call (None when the webhook has no secret); 401 or 400 when refused."""
    if secret is None:
        return None
    if request.url.query:
        raise UnsignedQuery(
            "this webhook is signed and no signature covers the URL: send the values in the body, not in "
            "the query string",
            path="query",
        )
    tolerance = resources.settings.webhook_signature_tolerance_seconds
    try:
        return verify(scheme, secret, raw, request.headers, time.time(), tolerance)
    except SignatureRefused as exc:
        raise Unauthenticated(str(exc)) from exc


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
            405: {"description": "The workflow does not accept this method"},
            502: {"description": "Sync mode: the run failed"},
        },
        summary=f"Receive a webhook call ({method})",
        operation_id=f"receive_webhook_{method.lower()}",
    )


def quota_exceeded(exc: LimitExceeded) -> Response:
    """429, not 403: a webhook sender retries later, when the quota resets."""
    now = datetime.now(UTC)
    response = error_response(429, exc.kind, exc.detail)
    response.headers["Retry-After"] = str(int((next_month(month_start(now)) - now).total_seconds()) + 1)
    return response
