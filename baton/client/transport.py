"""How the client talks to Baton: one call sent with retries (429, 503, no answer) that keep their
Idempotency-Key, error answers raised as ApiError, good ones parsed into the server's own models, pages
followed, and a run's Server-Sent Events read as `Event`s."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from api.schemas.base import Page
from baton.client.errors import ApiError, InvalidInput, TransportError

M = TypeVar("M", bound=BaseModel)
DEFAULT_URL = "http://127.0.0.1:8000"
RETRIED = frozenset({429, 503})
UNSET: Any = object()  # a field left out (for a PATCH, None would set it to null)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event of a run's stream: `type` (execution, step, log...), its data, its id (give it
    back as `last_event_id` to resume after it)."""

    type: str
    data: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class HookAnswer:
    """What `/hooks/{token}` answered: 202 with the execution id (async webhooks), or what the workflow's
    `respond` step sent (sync webhooks)."""

    status: int
    headers: httpx.Headers
    body: Any
    execution_id: str | None = field(default=None)


def query_params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones, dates as ISO text, booleans as true/false."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = str(value).lower()
        out[key] = value
    return out


def body_of(model: type[BaseModel], **values: Any) -> dict[str, Any]:
    """A request body checked with the server's own model: a bad or unknown field fails here, naming its
    path, and only the fields given are sent."""
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(422, "invalid_body", f"{path}: {first['msg']}", path) from None
    return parsed.model_dump(by_alias=True, mode="json", exclude_unset=True)


class Http:
    """Sends a call with retries, raises error answers, parses the good ones."""

    def __init__(self, client: httpx.AsyncClient, max_retries: int, backoff: float) -> None:
        self.client, self.max_retries, self.backoff = client, max_retries, backoff

    async def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = dict(headers or {})
        if method == "POST":
            headers.setdefault("Idempotency-Key", idempotency_key or str(uuid.uuid4()))
        attempt = 0
        while True:
            try:
                response = await self.client.request(
                    method, path, json=json_body, params=params, headers=headers, content=content
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    url = f"{self.client.base_url}{path}"
                    raise TransportError(0, "unreachable", f"cannot reach Baton at {url}: {exc!r}") from exc
                await asyncio.sleep(self._pause(attempt, None))
                attempt += 1
                continue
            if response.status_code in RETRIED and attempt < self.max_retries:
                await response.aread()
                await asyncio.sleep(self._pause(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            if response.status_code >= 400:
                await response.aread()
                raise ApiError.from_response(response)
            return response

    def _pause(self, attempt: int, retry_after: str | None) -> float:
        try:
            if retry_after is not None:
                return min(float(retry_after), 60.0)
        except ValueError:
            pass
        return min(self.backoff * 2.0**attempt, 8.0)

    async def model(self, kind: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = await self.send(method, path, **kwargs)
        return kind.model_validate(response.json())

    async def iterate(self, item: type[M], path: str, params: dict[str, Any]) -> AsyncIterator[M]:
        """Every item of a paginated list, page after page (following `nextCursor`)."""
        params = dict(params)
        while True:
            page = await self.model(Page[item], "GET", path, params=params)  # type: ignore[valid-type]
            for entry in page.items:
                yield entry
            if not page.next_cursor:
                return
            params["cursor"] = page.next_cursor

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.send(method, path, **kwargs)
        return response.json() if response.content else None

    async def events(self, path: str, last_event_id: str | None) -> AsyncIterator[Event]:
        """A Server-Sent Events stream, read until the server ends it (no timeout: it may be quiet)."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        async with self.client.stream("GET", path, headers=headers, timeout=None) as response:
            if response.status_code >= 400:
                await response.aread()
                raise ApiError.from_response(response)
            async for event in parse_sse(response.aiter_lines()):
                yield event


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Server-Sent Events from the stream's lines (comments and `retry:` skipped)."""
    kind: str = "message"
    event_id: str | None = None
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                payload = json.loads("\n".join(data))
                yield Event(kind, payload if isinstance(payload, dict) else {"value": payload}, event_id)
            kind, event_id, data = "message", None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value
