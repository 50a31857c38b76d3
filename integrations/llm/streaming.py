"""Server-sent events as OpenAI (`stream: true`), Anthropic (`"stream": true`) and Gemini
(`:streamGenerateContent?alt=sse`) send them: https://html.spec.whatwg.org/multipage/server-sent-events.html

The answer is read as it arrives (`ctx.stream`, through the egress guard) and split into events; the text
each event adds (`text_of`, the provider's delta) is handed to `ctx.tokens`, which shows it live (the run's
event stream, a chat's answer) while the action assembles the complete reply. Errors are classified exactly
as for a plain call (errors.reread).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from integrations.context import ActionContext, ActionError
from integrations.llm.errors import reread

# The text an event adds to the answer (its provider's delta), or None.
TextOf = Callable[[str, dict[str, Any]], str | None]


def parse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each event; OpenAI's closing `[DONE]` and comments are left out."""
    events: list[tuple[str, dict[str, Any]]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        payload = "\n".join(data)
        if not data or payload == "[DONE]":
            continue
        try:
            parsed = json.loads(payload)
        except ValueError as exc:
            raise ActionError(
                f"the model's stream sent an event that is not JSON: {payload[:200]!r}"
            ) from exc
        if isinstance(parsed, dict):
            events.append((name, parsed))
    return events


async def server_sent_events(
    ctx: ActionContext, url: str, text_of: TextOf | None = None, **kwargs: Any
) -> list[tuple[str, dict[str, Any]]]:
    """The events of a streamed POST, each event's text handed to `ctx.tokens` as it arrives."""
    events: list[tuple[str, dict[str, Any]]] = []
    pending = ""

    async def take(blocks: str) -> None:
        for event in parse_events(blocks):
            events.append(event)
            if text_of is not None and (text := text_of(*event)):
                await ctx.tokens(text)

    try:
        async with ctx.stream("POST", url, **kwargs) as response:
            async for chunk in response.aiter_text():
                pending += chunk.replace("\r\n", "\n")
                complete, separator, pending = pending.rpartition("\n\n")
                if separator:
                    await take(complete)
    except ActionError as exc:
        raised = reread(ctx, exc)
        if raised is exc:
            raise
        raise raised from exc
    await take(pending)
    return events
