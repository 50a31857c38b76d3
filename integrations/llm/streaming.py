"""Server-sent events as OpenAI (`stream: true`), Anthropic (`"stream": true`) and Gemini
(`:streamGenerateContent?alt=sse`) send them: https://html.spec.whatwg.org/multipage/server-sent-events.html

The answer is read whole and then split into events: an action needs the complete reply anyway, and the
request goes through `ctx.request` (errors.post), so errors are classified exactly as for a plain call.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.context import ActionContext, ActionError
from integrations.llm.errors import post


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


async def server_sent_events(ctx: ActionContext, url: str, **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
    response = await post(ctx, url, **kwargs)
    return parse_events(response.text)
