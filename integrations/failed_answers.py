"""What a failed call keeps of the service's answer: its status, headers and the start of its body, bounded
so that a 10 MB error page cannot fill the run's history, and a one-line excerpt for the error's message.

The activity layer redacts both (core.redaction) before they leave the worker; they travel in the
ApplicationError's details (encrypted by the payload codec) and end on the failed step's output."""

from __future__ import annotations

import json
from typing import Any

import httpx

BODY_EXCERPT_BYTES = 4096
MESSAGE_EXCERPT_CHARS = 200
MAX_HEADERS = 40
MAX_HEADER_CHARS = 512


def _text(content: bytes, encoding: str | None) -> str:
    try:
        return content.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", "replace")


def answer_excerpt(response: httpx.Response) -> dict[str, Any]:
    """`{status, headers, body}`: the body parsed when it is JSON and whole, else its first
    BODY_EXCERPT_BYTES as text, with `bodyTruncated` and `bodyBytes` saying how much there was."""
    content = response.content
    truncated = len(content) > BODY_EXCERPT_BYTES
    body: Any = _text(content[:BODY_EXCERPT_BYTES], response.encoding)
    if not truncated and content and "json" in response.headers.get("content-type", ""):
        try:
            body = json.loads(content)
        except ValueError:
            pass  # said JSON, is not: the text
    headers = {name: value[:MAX_HEADER_CHARS] for name, value in list(response.headers.items())[:MAX_HEADERS]}
    excerpt: dict[str, Any] = {"status": response.status_code, "headers": headers, "body": body}
    if truncated:
        excerpt |= {"bodyTruncated": True, "bodyBytes": len(content)}
    return excerpt


def message_excerpt(excerpt: dict[str, Any]) -> str:
    """The body of `answer_excerpt` on one short line (`{"error": "pool exhausted"}`), or "" when empty."""
    body = excerpt.get("body")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(", ", ": "))
    line = " ".join(text.split())
    if len(line) > MESSAGE_EXCERPT_CHARS or excerpt.get("bodyTruncated"):
        return line[:MESSAGE_EXCERPT_CHARS].rstrip() + "…"
    return line


def failed_answer(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The message's excerpt (`: <excerpt>`, or "" for an empty body) and the details of a failed call."""
    excerpt = answer_excerpt(response)
    line = message_excerpt(excerpt)
    return (f": {line}" if line else ""), {"response": excerpt}
