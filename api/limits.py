"""Refuses request bodies over the configured size with 413, before a handler reads them (also when the
client sends no Content-Length: the body is counted as it arrives), and JSON or text Baton cannot keep."""

from __future__ import annotations

import json
import re

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import json_input


class BodyTooLarge(BaseException):  # noqa: N818
    """Raised while reading the body; a BaseException so body parsing (which catches Exception and answers
    400) lets it through to this middleware."""


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt: tuple[str, ...] = (),
        larger: tuple[tuple[str | re.Pattern[str], int], ...] = (),
        files: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt  # path prefixes with a limit of their own
        # paths (a prefix, or a pattern) that take larger bodies: a run's trigger, MAX_VALUE_BYTES with a
        # blob store (webhook calls, manual runs)
        self.larger = larger
        # path prefixes that take files (is_file_body: a multipart upload, a binary body) up to a limit
        self.files = files

    def _limit(self, path: str) -> int:
        return next((limit for rule, limit in self.larger if _matches(rule, path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt and str(scope.get("path", "")).startswith(self.exempt)):
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(str(scope.get("path", "")))
        if self.files and is_file_body(
            dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1")
        ):
            path = str(scope.get("path", ""))
            max_bytes = max([max_bytes, *(limit for prefix, limit in self.files if path.startswith(prefix))])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, max_bytes)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, max_bytes)

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        body = json.dumps(
            {
                "error": "payload_too_large",
                "detail": f"the request body is larger than {max_bytes} bytes",
                "path": None,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _matches(rule: str | re.Pattern[str], path: str) -> bool:
    return path.startswith(rule) if isinstance(rule, str) else rule.match(path) is not None


def is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


TEXT_MEDIA = frozenset({"application/x-www-form-urlencoded", "application/xml"})


def is_file_body(content_type: str | None) -> bool:
    """multipart/form-data, or a body that is not JSON, text, XML or a URL-encoded form (a PDF, an image,
    application/octet-stream): a webhook takes such a body as files (api.uploads), not as `trigger.body`."""
    media = (content_type or "").split(";")[0].strip().lower()
    if not media or is_json(media) or media.startswith("text/") or media in TEXT_MEDIA:
        return False
    return not media.endswith("+xml")


async def check_request_text(request: Request) -> None:
    """Every request's path, query and JSON body as Baton can keep them (core.json_input: no NUL, no lone
    surrogate, no NaN or infinite number, no nesting past MAX_DEPTH), else 400/422 naming where, before any
    handler runs. The parsed body is kept in `request.state.json_body` for the routes that read it
    themselves (the webhook ingress), so it is parsed strictly once."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        json_input.check({name: str(value)}, name)
    if not is_json(request.headers.get("content-type", "")):
        return
    body = await request.body()  # Starlette keeps it: the handler reads the same bytes
    if body:
        request.state.json_body = json_input.loads(body)
