"""Provider answers that the generic HTTP classes (integrations.context) would misread: Gemini refuses a bad
key with a 400 (reason API_KEY_INVALID), OpenAI says 429 `insufficient_quota` when the account has no
credit left, which no retry fixes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from integrations.context import ActionContext, ActionError, auth_failed


def _body(error: ActionError) -> Any:
    return (error.details.get("response") or {}).get("body")


def reread(ctx: ActionContext, error: ActionError) -> ActionError:
    """The error as the provider meant it."""
    text = json.dumps(_body(error)) if _body(error) is not None else ""
    if error.type in {"HTTP400", "HTTP403"} and ("API_KEY_INVALID" in text or "API key not valid" in text):
        return auth_failed(ctx.service, error.message.split(": ", 1)[-1])
    if error.type == "HTTP429" and "insufficient_quota" in text:
        return ActionError(
            f"{error.message} (the account's quota or credit is used up: retrying cannot help)",
            type="QuotaExhausted",
            retryable=False,
            details=error.details,
        )
    return error


async def post(ctx: ActionContext, url: str, **kwargs: Any) -> httpx.Response:
    """`ctx.request("POST", ...)` with the provider's own ways of failing read right."""
    try:
        return await ctx.request("POST", url, **kwargs)
    except ActionError as exc:
        raised = reread(ctx, exc)
        if raised is exc:
            raise
        raise raised from exc
