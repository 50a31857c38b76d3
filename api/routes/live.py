"""Live updates as Server-Sent Events: one run's status and steps (`execution:{executionId}` on Redis),
with `Last-Event-ID` replay from the log store, and every run of a workspace for dashboards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from redis.asyncio.client import PubSub

from api.deps import ResourcesDep, SessionDep, WorkspaceAccess, workspace_access
from api.errors import error_responses
from api.pagination import decode_cursor
from core.live import live_event
from core.logstore import LogQuery
from core.outages import raise_if_cancelled
from core.permissions import Permission
from core.runs import reads as store

router = APIRouter(prefix="/workspaces/{workspace_id}", tags=["executions"])
Reader = Annotated[WorkspaceAccess, Depends(workspace_access(Permission.READ, "executions:read"))]
STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}
}
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED", "TIMEOUT"}
KEEPALIVE_SECONDS = 15.0
RECONNECT_MILLISECONDS = 1000
REPLAY_PAGE = 500


def sse(event: dict[str, Any]) -> bytes:
    """One event: `id` (what the browser sends back as Last-Event-ID), `event` (its type), `data`."""
    head = f"id: {event['id']}\n" if event.get("id") else ""
    return f"{head}event: {event.get('type', 'message')}\ndata: {json.dumps(event, default=str)}\n\n".encode()


def is_final(event: dict[str, Any]) -> bool:
    return event.get("type") == "execution" and event.get("status") in TERMINAL


async def relay(pubsub: PubSub, seen: set[str], *, until_final: bool) -> AsyncIterator[bytes]:
    """Live events from a subscription (those already sent skipped), a comment every 15 s of silence."""
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=KEEPALIVE_SECONDS)
        raise_if_cancelled()  # the client went away, and redis-py swallowed the cancel: stop relaying
        if message is None:
            yield b": keep-alive\n\n"
            continue
        event = json.loads(message["data"])
        if event.get("id") in seen:
            continue
        yield sse(event)
        if until_final and is_final(event):
            return


def streaming(body: AsyncIterator[bytes], pubsub: PubSub) -> StreamingResponse:
    async def stream() -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()
            async for chunk in body:
                yield chunk
        finally:
            await pubsub.aclose()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/executions/{execution_id}/events", responses={**error_responses(400, 401, 403, 404), **STREAM})
async def execution_events(
    execution_id: str,
    access: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Resume after this event (sent by browsers)")
    ] = None,
    resume_after: Annotated[
        str | None, Query(alias="lastEventId", description="The same, for clients that cannot set headers")
    ] = None,
) -> StreamingResponse:
    """A run's status and step events, live. A new stream starts with the run's current status; a stream
    resumed with `Last-Event-ID` first replays what happened after that event (from the run's log, which is
    written within a second), then goes on live. The stream ends after the run's final status."""
    execution = await store.get(session, access.workspace.id, execution_id)
    after = decode_cursor(
        last_event_id or resume_after,
        path="Last-Event-ID",
        hint="send the `id` of the last event you received (or none, to start from now)",
    )
    resuming = after is not None
    pubsub = resources.redis.pubsub()
    await pubsub.subscribe(
        resources.keys.execution_channel(execution.id)
    )  # before reading: nothing falls between
    await session.refresh(execution)
    current: dict[str, Any] = {
        "type": "execution",
        "status": execution.status.value,
        "error": execution.error,
    }
    replay: list[dict[str, Any]] = []
    while after is not None:
        page = await resources.log_store.logs(LogQuery(execution.id, after=after, limit=REPLAY_PAGE))
        replay += [live_event(entry) for entry in page]
        after = (page[-1]["timestamp"], page[-1]["id"]) if len(page) == REPLAY_PAGE else None

    async def body() -> AsyncIterator[bytes]:
        seen = {event["id"] for event in replay}
        if not resuming:
            yield sse(current)
        for event in replay:
            yield sse(event)
        if current["status"] in TERMINAL:
            if resuming and not any(is_final(event) for event in replay):
                yield sse(current)  # the log has not caught up with the end yet: say how it ended
            return
        async for chunk in relay(pubsub, seen, until_final=True):
            yield chunk

    return streaming(body(), pubsub)


@router.get("/events", responses={**error_responses(401, 403, 404), **STREAM})
async def workspace_events(access: Reader, resources: ResourcesDep) -> StreamingResponse:
    """Every status and step event of the workspace's runs, live, for dashboards (each names its
    `executionId` and `workflowId`). Open-ended: it lasts until the client leaves."""
    pubsub = resources.redis.pubsub()
    await pubsub.subscribe(resources.keys.workspace_channel(access.workspace.id))
    return streaming(relay(pubsub, set(), until_final=False), pubsub)
