"""What an action's or a poll's code works with: its credentials, an HTTP helper that classifies the
service's errors the same way for every integration, and what the runtime learns from each call.

Error classes (the activity layer turns them into Temporal ApplicationErrors):
- the credentials were refused (401, Slack's `invalid_auth`...): `AuthenticationFailed`, not retried, with
  a message that tells the user to reconnect (the runtime first refreshes an OAuth2 token once);
- 429 and 5xx, timeouts, refused connections: retried, honouring Retry-After;
- any other 4xx: not retried (the same request would fail again), the service's own message shown.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from core import files
from core.blobs import BlobStore
from core.errors import AUTH_FAILED
from core.outbound import BlockedAddress, OutboundPolicy
from core.settings import Settings
from integrations.action_errors import (
    FAILURE_KINDS,
    ActionError,
    auth_failed,
    credentials_failure_kind,
    failure_kind,
    file_error,
    hiding,
    parse_retry_after,
    service_message,
)
from integrations.failed_answers import failed_answer

__all__ = [
    "AUTH_FAILED",
    "FAILURE_KINDS",
    "RETRYABLE_STATUSES",
    "ActionError",
    "auth_failed",
    "credentials_failure_kind",
    "failure_kind",
    "hiding",
    "parse_retry_after",
    "service_message",
]
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# progress() shows at most this often in the step's live state (a row written and published each time)
PROGRESS_INTERVAL_SECONDS = 0.5


@dataclass
class ProviderRateLimit:
    """The seed's `integration_usage.rateLimit`: what the service said of its own limit."""

    remaining: int | None = None
    limit: int | None = None
    reset: datetime | None = None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> ProviderRateLimit | None:
        """GitHub's `x-ratelimit-*` (reset in epoch seconds) and the IETF `ratelimit-*` (reset in seconds)."""
        for prefix in ("x-ratelimit-", "ratelimit-"):
            remaining, limit = headers.get(prefix + "remaining"), headers.get(prefix + "limit")
            if remaining is None and limit is None:
                continue
            reset: datetime | None = None
            raw_reset = headers.get(prefix + "reset")
            try:
                seconds = float(raw_reset) if raw_reset else None
            except ValueError:
                seconds = None
            if seconds is not None:
                reset = (
                    datetime.fromtimestamp(seconds, UTC)
                    if seconds > 1e9
                    else datetime.now(UTC) + timedelta(seconds=seconds)
                )
            return cls(_int(remaining), _int(limit.split(",")[0] if limit else None), reset)
        return None

    def as_document(self) -> dict[str, Any]:
        return {"remaining": self.remaining, "limit": self.limit, "reset": self.reset}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class ActionContext:
    """What an action's code receives besides its input."""

    credentials: dict[str, Any]
    http: httpx.AsyncClient
    logger: logging.Logger
    # Where the service is: the connection's `baseUrl`, else the installation's setting, else the default.
    base_url: str = ""
    # Stable across the retries of one step of one execution (uuid text): sent to services that deduplicate.
    idempotency_key: str | None = None
    service: str = "the service"
    # Filled by request(): what the service said of its rate limit in its last answer.
    rate_limit: ProviderRateLimit | None = field(default=None)
    # Set by an action whose calls cost more than one call (an LLM's tokens and their price): kept as the
    # `metadata` of the call's integration_usage record, for analytics.
    metered: dict[str, Any] | None = field(default=None)
    # The run the action belongs to, and Baton's own database: for actions on the workspace's own data
    # (the `store` integration), which may only ever touch this workspace. None outside a run's step.
    workspace_id: str | None = None
    execution_id: str | None = None
    database: AsyncEngine | None = None
    # Where files are kept (core.files; BLOB_STORE_URL): store_file, open_file and read_file below.
    blobs: BlobStore | None = None
    # Set by the activity layer (activities.actions): what heartbeat() and progress() report to. Without
    # them (a connection test, a poll) both do nothing.
    on_heartbeat: Callable[[Any], None] | None = field(default=None, repr=False)
    on_progress: Callable[[dict[str, Any]], Awaitable[None]] | None = field(default=None, repr=False)
    # Where a streamed answer's text goes as it arrives (the run's live events); None: nowhere.
    on_tokens: Callable[[str], Awaitable[None]] | None = field(default=None, repr=False)
    # What the last heartbeat of an earlier attempt of this call said (its `details`), so a retry resumes
    # where that attempt was (http.request's pagination); None on a first attempt or a local activity.
    resumed: Any = None
    # The installation's settings, for actions with bounds of their own (the pages of http.request);
    # None outside a worker (a connection test): the defaults apply.
    settings: Settings | None = field(default=None, repr=False)
    _progress_sent: float = field(default=-PROGRESS_INTERVAL_SECONDS, repr=False)

    def heartbeat(self, details: Any = None) -> None:
        """Tells Temporal the call is alive (an action of the `long` profile must, at least once a minute,
        or its attempt is presumed dead and retried); `details` must be JSON and secret-free."""
        if self.on_heartbeat is not None:
            self.on_heartbeat(details)

    async def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Heartbeats and shows how far the call is in its step's live state ("page 3 of 10"). Shown at
        most twice a second (the last of a burst is dropped; the next shows); the first and the last
        (`done == total`) are always shown."""
        figures = {"done": done, "total": total, "message": message}
        self.heartbeat(figures)
        if self.on_progress is None:
            return
        now = time.monotonic()
        if now - self._progress_sent < PROGRESS_INTERVAL_SECONDS and done != total:
            return
        self._progress_sent = now
        await self.on_progress({k: v for k, v in figures.items() if v is not None})

    async def tokens(self, text: str) -> None:
        """Shows text a streamed answer just added (an LLM's tokens) in the run's live events, as it comes;
        it also tells Temporal the call is alive. What the action returns is unaffected."""
        self.heartbeat()
        if self.on_tokens is not None:
            await self.on_tokens(text)

    @property
    def egress(self) -> OutboundPolicy:
        """The egress guard every socket this action opens must go through (`OutboundPolicy.resolve`, then
        connect to the address it answers). It comes with the guarded HTTP client; without one no socket
        may be opened at all."""
        policy = getattr(self.http, "policy", None)
        if not isinstance(policy, OutboundPolicy):
            raise ActionError(
                f"{self.service}: no egress guard is configured, so no connection may be opened",
                type="BlockedAddress",
                retryable=False,
            )
        return policy

    async def resolve(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to for `host`:`port` (see `egress`), as ActionErrors."""
        try:
            return await self.egress.resolve(host, port)
        except BlockedAddress as exc:
            raise ActionError(f"{self.service}: {exc}", type="BlockedAddress", retryable=False) from exc
        except TimeoutError as exc:
            raise ActionError(f"{self.service}: resolving {host} timed out", type="Timeout") from exc
        except OSError as exc:
            raise ActionError(
                f"{self.service}: cannot resolve {host} ({exc})", type="ConnectionError"
            ) from exc

    def _run(self) -> tuple[str, str]:
        if not self.workspace_id or not self.execution_id:
            raise ActionError(
                f"{self.service}: files exist only within a run", type="InvalidInput", retryable=False
            )
        return self.workspace_id, self.execution_id

    async def store_file(
        self,
        body: bytes | AsyncIterable[bytes],
        *,
        name: str | None,
        content_type: str | None = None,
        max_bytes: int | None = None,
    ) -> files.FileRef:
        """Keeps `body` (streamed) as a file of this run; its reference is what the step outputs."""
        workspace, execution = self._run()
        try:
            return await files.store_file(
                self.blobs,
                workspace,
                execution,
                body,
                name=name,
                content_type=content_type,
                max_bytes=max_bytes,
            )
        except files.FileError as exc:
            raise file_error(exc) from exc

    async def open_file(self, ref: Any, path: str = "file") -> AsyncIterator[bytes]:
        """A file of this workspace as chunks; a bad reference or another workspace's file is an ActionError
        naming `path`, raised before the first chunk."""
        workspace, _ = self._run()
        try:
            found = files.file_ref(ref, path)
            stream = files.open_file(self.blobs, workspace, found)
            first = await anext(stream, None)
        except files.FileError as exc:
            raise file_error(exc) from exc
        if first is not None:
            yield first
            async for chunk in stream:
                yield chunk

    async def kept_file(self, ref: Any, path: str = "file") -> files.FileRef:
        """The reference as Baton kept it when the file was made (its true size, name and type, whatever a
        step's value claims); an ActionError naming `path` when this workspace has no such file."""
        workspace, _ = self._run()
        try:
            return await files.describe_file(self.blobs, workspace, files.file_ref(ref, path).file_id)
        except files.FileError as exc:
            raise file_error(exc) from exc

    async def read_file(self, ref: Any, limit: int, path: str = "file") -> bytes:
        """A whole file of this workspace (a parser's input), ActionError past `limit` bytes."""
        workspace, _ = self._run()
        try:
            return await files.read_file_bytes(self.blobs, workspace, files.file_ref(ref, path), limit)
        except files.FileError as exc:
            raise file_error(exc) from exc

    async def pages(
        self,
        fetch: Callable[[str | None], Awaitable[tuple[list[Any], str | None]]],
        start: str | None,
        max_pages: int,
        noun: str,
    ) -> tuple[list[Any], str | None]:
        """Cursor pagination: `fetch(cursor)` answers one page's items and the next cursor (None at the
        end); called from `start` for up to `max_pages` pages, showing progress between them. All the
        items, and the cursor where it stopped (None when nothing is left)."""
        items: list[Any] = []
        cursor = start
        for page in range(max_pages):
            found, cursor = await fetch(cursor)
            items.extend(found)
            if not cursor:
                break
            await self.progress(page + 1, max_pages, f"{len(items)} {noun}")
        return items, cursor

    def secret(self, name: str) -> str:
        """A credential field the action cannot work without."""
        value = self.credentials.get(name)
        if not value:
            raise ActionError(
                f"the {self.service} connection has no {name}; reconnect it or pick another connection",
                type="InvalidCredentials",
                retryable=False,
            )
        return str(value)

    def bearer(self, name: str = "accessToken") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret(name)}"}

    def url(self, path: str) -> str:
        if not self.base_url or path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        check_status: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """Calls the service and classifies what goes wrong (see the module docstring); answers 2xx/3xx.
        With `check_status=False` any answer comes back, for callers that classify statuses themselves."""
        url = self.url(path)
        with self._transport_errors(method, url, kwargs.get("timeout")):
            response = await self.http.request(method, url, **kwargs)
        self._answered(response, check_status)
        return response

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, path: str, *, check_status: bool = True, **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        """`request`, with the answer's body left unread: read it as it arrives (`aiter_bytes`), for
        downloads larger than memory. Errors while reading are classified as the call's own."""
        url = self.url(path)
        with self._transport_errors(method, url, kwargs.get("timeout")):
            async with self.http.stream(method, url, **kwargs) as response:
                if check_status and response.status_code >= 400:
                    await response.aread()
                self._answered(response, check_status)
                yield response

    @contextlib.contextmanager
    def _transport_errors(self, method: str, url: str, timeout: Any) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            after = f" after {timeout:g}s" if isinstance(timeout, int | float) else ""
            raise ActionError(f"{method} {url} timed out{after}", type="Timeout") from exc
        except httpx.InvalidURL as exc:
            raise ActionError(f"invalid URL {url!r}: {exc}", type="InvalidInput", retryable=False) from exc
        except BlockedAddress as exc:
            raise ActionError(f"{method} {url}: {exc}", type="BlockedAddress", retryable=False) from exc
        except httpx.TransportError as exc:
            raise ActionError(
                f"{self.service} is unreachable: {method} {url} failed ({exc})", type="ConnectionError"
            ) from exc

    def _answered(self, response: httpx.Response, check_status: bool) -> None:
        self.rate_limit = ProviderRateLimit.from_headers(response.headers) or self.rate_limit
        status = response.status_code
        if status < 400 or not check_status:
            return
        reason = f"{status}: {service_message(response)}"
        if status == 401:
            raise auth_failed(self.service, reason)
        _, details = failed_answer(response)  # kept on the failed step (the message has its own words)
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise ActionError(
                f"{self.service} answered {reason}",
                type=f"HTTP{status}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                details=details,
            )
        raise ActionError(
            f"{self.service} answered {reason}", type=f"HTTP{status}", retryable=False, details=details
        )
