"""What the client raises: every answer of 400 or more as an ApiError carrying the error body
(`{"error", "detail", "path"}`, API.md), a subclass per status a caller usually handles apart."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """An error answer. `status`: the HTTP status; `error`: the machine-readable kind (`invalid_definition`,
    `not_found`...); `detail`: what went wrong, for people; `path`: the field or JSON path at fault."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        path: str | None = None,
        *,
        body: Any = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        self.status, self.error, self.detail, self.path = status, error, detail, path
        self.body = body if body is not None else {"error": error, "detail": detail, "path": path}
        self.headers = headers or httpx.Headers()
        super().__init__(f"{status} {error}: {detail}" + (f" (at {path})" if path else ""))

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "error" not in body:
            text = response.text[:500] or response.reason_phrase
            body = {"error": f"http_{response.status_code}", "detail": text, "path": None}
        kind = ERRORS_BY_STATUS.get(response.status_code, cls)
        return kind(
            response.status_code,
            str(body["error"]),
            str(body.get("detail", "")),
            body.get("path"),
            body=body,
            headers=response.headers,
        )


class BadRequest(ApiError):
    """400: malformed input (JSON, a cursor, a header)."""


class Unauthorized(ApiError):
    """401: no token, or an expired or revoked one: log in again (or use an API key)."""


class Forbidden(ApiError):
    """403: the token's role or scopes do not allow this."""


class NotFound(ApiError):
    """404: not there, or not in a workspace of the caller's."""


class Conflict(ApiError):
    """409: the state does not allow it (a duplicate, a run that already ended)."""


class InvalidInput(ApiError):
    """422: a field or a definition is wrong; `path` names it (`steps[2].input.url`)."""


class RateLimited(ApiError):
    """429: too many calls or the plan's quota; `retry_after` says when to try again (seconds)."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class Unavailable(ApiError):
    """503: a dependency of Baton (PostgreSQL, Redis, Temporal) is not answering; try again shortly."""


class TransportError(ApiError):
    """Baton could not be reached at all (refused, timed out, DNS): no answer, status 0."""


ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: RateLimited,
    503: Unavailable,
}
