"""The chat entry point: `POST /hooks/{token}/chat` with `{message, sessionId}` (core.triggers.chat).

Answers the run's answer as JSON (`{answer, sessionId, executionId}`; 202 with the execution id when the run
has not answered within the webhook's `syncTimeoutSeconds`), or, when the caller accepts
`text/event-stream`, as server-sent events: `start` (the execution id), `token` (each piece of text a
streamed model turn adds, as it comes), then `answer`, `failed` or `pending`. Browsers may call it from the
trigger's `allowedOrigins` (CORS, with its preflight); any other Origin is refused (403, naming `Origin`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field
from redis.asyncio.client import PubSub

from api.deps import ResourcesDep
from api.errors import error_response, error_responses
from api.schemas.base import ApiModel, RequestBody
from core.runs import SyncReply
from core.triggers.chat import (
    MAX_MESSAGE_CHARS,
    MAX_SESSION_ID_CHARS,
    ChatIngress,
    ChatStarted,
    allowed_origin,
    answer_of,
)
from core.triggers.ingress import Refused, WebhookIngress

router = APIRouter(tags=["webhooks"])
EXECUTION_HEADER = "X-Baton-Execution-Id"
PREFLIGHT_MAX_AGE = "600"


class ChatBody(RequestBody):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="What the user wrote")
    session_id: str = Field(
        min_length=1,
        max_length=MAX_SESSION_ID_CHARS,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The conversation's id (an agent's `memory.sessionKey` reads it as "
        "`{{ trigger.body.sessionId }}`)",
    )


class ChatAnswer(ApiModel):
    answer: Any = Field(description="The run's answer (an agent step's `answer`)")
    session_id: str
    execution_id: str


def cors(origin: str | None) -> dict[str, str]:
    """The headers that let the allowed origin read the answer (none for a call without an Origin)."""
    if origin is None:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Vary": "Origin",
        "Access-Control-Expose-Headers": EXECUTION_HEADER,
    }


def refused(outcome: Refused, origin: str | None) -> JSONResponse:
    response = error_response(outcome.status, outcome.kind, outcome.detail, outcome.path)
    response.headers.update({**outcome.headers, **cors(origin)})
    return response


def chat_ingress(resources: ResourcesDep) -> ChatIngress:
    ingress = WebhookIngress(
        resources.webhooks, resources.redis, resources.keys, resources.settings, resources.run_service
    )
    return ChatIngress(resources.webhooks, ingress, resources.run_service)


def forbidden_origin(origin: str) -> JSONResponse:
    return error_response(
        403,
        "forbidden",
        f"the origin {origin} may not use this chat (add it to the trigger's allowedOrigins)",
        "Origin",
    )


@router.options("/hooks/{token}/chat", status_code=204, responses=error_responses(403, 404))
async def chat_preflight(token: str, request: Request, resources: ResourcesDep) -> Response:
    """A browser's CORS preflight: allowed origins may POST JSON."""
    origin = request.headers.get("origin")
    target = await chat_ingress(resources).target(token)
    if isinstance(target, Refused):
        return refused(target, None)
    if not allowed_origin(target, origin):
        return forbidden_origin(str(origin))
    headers = {
        **cors(origin),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "content-type, idempotency-key, last-event-id",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
    return Response(status_code=204, headers=headers)


@router.post(
    "/hooks/{token}/chat",
    response_model=ChatAnswer,
    responses={
        **error_responses(400, 401, 403, 404, 413, 429),
        200: {
            "content": {"text/event-stream": {}},
            "description": "The answer (JSON, or streamed when asked)",
        },
        202: {"description": "No answer within syncTimeoutSeconds: the run carries on ({executionId})"},
        502: {"description": "The run failed"},
    },
    summary="Send a chat message",
)
async def chat(token: str, body: ChatBody, request: Request, resources: ResourcesDep) -> Response:
    """Starts a run of the chat's workflow with the message and answers its answer (see the module)."""
    origin = request.headers.get("origin")
    chats = chat_ingress(resources)
    target = await chats.target(token)
    if isinstance(target, Refused):
        return refused(target, origin if origin is None or target.status != 404 else None)
    if not allowed_origin(target, origin):
        return forbidden_origin(str(origin))
    streaming = "text/event-stream" in request.headers.get("accept", "")
    execution_id = str(uuid.uuid4())
    pubsub: PubSub | None = None
    if streaming:  # subscribed before the run starts: no token falls between
        pubsub = resources.redis.pubsub()
        await pubsub.subscribe(resources.keys.execution_channel(execution_id))
    try:
        raw = await request.body()  # what a signed call's signature covers
        started = await chats.start(token, body.message, body.session_id, request.headers, execution_id, raw)
    except BaseException:
        if pubsub is not None:
            await pubsub.aclose()
        raise
    if isinstance(started, Refused):
        if pubsub is not None:
            await pubsub.aclose()
        return refused(started, origin)
    headers = {**cors(origin), EXECUTION_HEADER: started.execution_id}
    if pubsub is not None:
        stream = streamed(chats, started, body.session_id, pubsub)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    reply = await chats.reply(started)
    return answered(reply, started, body.session_id, headers)


def answered(reply: SyncReply, started: ChatStarted, session_id: str, headers: dict[str, str]) -> Response:
    if reply.kind == "pending":
        return JSONResponse({"executionId": started.execution_id, "status": "RUNNING"}, 202, headers)
    if reply.kind == "failed":
        failed = {"error": "run_failed", "detail": f"the run failed (execution {started.execution_id})"}
        return JSONResponse({**failed, "executionId": started.execution_id}, 502, headers)
    answer = ChatAnswer(answer=answer_of(reply), session_id=session_id, execution_id=started.execution_id)
    return JSONResponse(answer.model_dump(by_alias=True), 200, headers)


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def streamed(
    chats: ChatIngress, started: ChatStarted, session_id: str, pubsub: PubSub
) -> AsyncIterator[bytes]:
    """`start`, the run's `token` events as they come, then how it ended (`answer`, `failed`, `pending`)."""
    ids = {"executionId": started.execution_id, "sessionId": session_id}
    reply = asyncio.create_task(chats.reply(started))
    try:
        yield event("start", ids)
        while True:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=0.2 if not reply.done() else 0
            )
            if message is not None:
                live = json.loads(message["data"])
                if live.get("type") == "token":
                    yield event("token", {"text": live.get("text", ""), "stepId": live.get("stepId")})
                continue
            if reply.done():
                break
        outcome = reply.result()
        if outcome.kind == "failed":
            yield event("failed", {**ids, "detail": f"the run failed (execution {started.execution_id})"})
        elif outcome.kind == "pending":
            yield event("pending", {**ids, "status": "RUNNING"})
        else:
            yield event("answer", {**ids, "answer": answer_of(outcome)})
    finally:
        reply.cancel()
        await pubsub.aclose()
