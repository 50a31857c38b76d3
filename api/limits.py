"""Refuses request bodies over the configured size with 413, before a handler reads them (also when the
client sends no Content-Length: the body is counted as it arrives), and text PostgreSQL cannot store."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import BatonError


class BodyTooLarge(BaseException):  # noqa: N818
    """Raised while reading the body; a BaseException so body parsing (which catches Exception and answers
    400) lets it through to this middleware."""


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
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
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": "payload_too_large",
                "detail": f"the request body is larger than {self.max_bytes} bytes",
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


class NulCharacter(BatonError):
    status_code = 422
    kind = "validation_error"


def _nul_path(value: Any, path: str) -> str | None:
    """The JSON path of the first string (or key) under `value` holding a NUL character."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            if (found := _nul_path(item, where)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _nul_path(item, f"{path}[{index}]")) is not None:
                return found
    return None


async def refuse_nul_characters(request: Request) -> None:
    """NUL (U+0000) cannot be stored in PostgreSQL text or JSONB: refused with 422 naming where it is, in the
    path, the query or the JSON body, before anything is written (one substring search on the way)."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in name or "\x00" in str(value):
            raise NulCharacter(f"{name}: text may not contain NUL (\\u0000) characters", path=name)
    body = await request.body()  # Starlette keeps it: the handler reads the same bytes
    if b"\\u0000" not in body and b"\x00" not in body:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return  # not JSON: the handler says what is wrong with it
    if (path := _nul_path(document, "")) is not None:
        raise NulCharacter(
            f"{path or 'body'}: text may not contain NUL (\\u0000) characters", path=path or None
        )
