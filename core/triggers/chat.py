"""The chat entry point use case: one message to `/hooks/{token}/chat`, from the token to the run's answer.

A webhook whose trigger has `chat` takes `{message, sessionId}` there: the message starts a run of its
workflow like any call to the webhook (its rate limit, signature, throttle and quota apply), with the trigger
`{"body": {"message", "sessionId"}, "headers", "query": {}, "method": "POST"}`; the session id is what an
agent step's `memory.sessionKey` reads to keep the conversation. The answer is the run's: an agent step's
`answer` when the run's result is its output, the result itself when it is text, the body of a `respond`.

Browsers may call it from the origins the trigger allows (CORS): a call with another `Origin` is refused
before anything starts. While the run works, the text its streamed model turns add comes on the run's live
channel as `token` events (activities.actions); the route relays them to a streaming caller.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.runs import RunService, SyncReply
from core.triggers.ingress import Accepted, HookCall, Outcome, Refused, Replayed, WebhookIngress
from core.triggers.webhooks import HookTarget, Webhooks

MAX_MESSAGE_CHARS = 32_000
MAX_SESSION_ID_CHARS = 200
# Request headers a chat keeps in its run's trigger (the rest are a browser's, or credentials).
KEPT_HEADERS = frozenset({"user-agent", "origin", "referer", "accept-language"})


@dataclass(frozen=True)
class ChatStarted:
    execution_id: str
    timeout_seconds: int  # how long the caller waits for the answer (the webhook's syncTimeoutSeconds)


def chat_target(target: HookTarget | None) -> HookTarget | Refused:
    """The webhook behind the token when it is an active chat, else why not (404)."""
    if target is None or not target.is_active:
        return Refused(
            404, "not_found", "no active webhook at this address (is the workflow published and active?)"
        )
    if target.chat is None:
        return Refused(
            404,
            "not_found",
            "this webhook is not a chat: add `chat` to its trigger's config to take messages",
        )
    return target


def allowed_origin(target: HookTarget, origin: str | None) -> bool:
    """Whether a call from `origin` may be taken: no origin (a server), or one the chat allows."""
    return origin is None or origin in (target.chat or {}).get("allowedOrigins", [])


def answer_of(reply: SyncReply) -> Any:
    """What a finished run answers a chat: an agent's `answer`, text as it is, a respond step's body."""
    value = reply.response.get("body") if reply.kind == "respond" and reply.response else reply.result
    if isinstance(value, dict) and "answer" in value:
        return value["answer"]
    return value


class ChatIngress:
    def __init__(
        self, webhooks: Webhooks, ingress: WebhookIngress, runs: Callable[[], Awaitable[RunService]]
    ):
        self._webhooks = webhooks
        self._ingress = ingress
        self._runs = runs

    async def target(self, token: str) -> HookTarget | Refused:
        return chat_target(await self._webhooks.target(token))

    async def start(
        self,
        token: str,
        message: str,
        session_id: str,
        headers: Mapping[str, str],
        execution_id: str | None,
        raw: bytes | None = None,
    ) -> ChatStarted | Refused:
        """Starts the message's run (under `execution_id` when given); the webhook's checks apply, a
        signature to the request's body as sent (`raw`)."""
        body = {"message": message, "sessionId": session_id}
        kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        call = HookCall(
            token=token,
            method="POST",
            headers=headers,
            query="",
            body=raw if raw is not None else json.dumps(body).encode(),
            trigger=lambda: {"body": body, "headers": kept, "query": {}, "method": "POST"},
            execution_id=execution_id or str(uuid.uuid4()),
            sync=False,
        )
        outcome: Outcome = await self._ingress.receive(call)
        if isinstance(outcome, Refused):
            return outcome
        target = await self._webhooks.target(token)
        timeout = target.sync_timeout_seconds if target is not None else 30
        if (
            isinstance(outcome, Replayed) and outcome.execution_id is not None
        ):  # an Idempotency-Key seen before
            return ChatStarted(outcome.execution_id, timeout)
        if isinstance(outcome, Accepted):
            return ChatStarted(outcome.execution_id, timeout)
        return Refused(409, "conflict", "the message joined a debounced burst; a chat takes no debounce")

    async def reply(self, started: ChatStarted, timeout: float | None = None) -> SyncReply:
        """The run's answer once it ends (`pending` past the timeout: the run carries on)."""
        runs = await self._runs()
        wait = started.timeout_seconds if timeout is None else timeout
        return await runs.reply(started.execution_id, wait, early=False)
