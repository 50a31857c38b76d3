"""Domain errors: each carries its HTTP status and error kind; the API maps them to JSON in one place.

A domain error names both in its class header, `class Gone(BatonError, status=410, kind="gone")`, so the
table of errors reads one line each (a subclass that gives neither keeps its parent's).
"""

from __future__ import annotations

from typing import Any, ClassVar

# The error type of a service refusing a connection's credentials (an action's, a token refresh's).
AUTH_FAILED = "AuthenticationFailed"


class BatonError(Exception):
    status_code: ClassVar[int] = 400
    kind: ClassVar[str] = "bad_request"

    def __init_subclass__(cls, *, status: int | None = None, kind: str | None = None, **rest: Any) -> None:
        super().__init_subclass__(**rest)
        if status is not None:
            cls.status_code = status
        if kind is not None:
            cls.kind = kind

    def __init__(self, detail: str, *, path: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.path = path


class NotFound(BatonError, status=404, kind="not_found"):
    """What was asked for does not exist, or is not the caller's to see."""


class Conflict(BatonError, status=409, kind="conflict"):
    """The request does not fit the current state (a name taken, a run that already ended)."""


class PermissionDenied(BatonError, status=403, kind="forbidden"):
    """The caller is known but may not do this."""


class Unauthenticated(BatonError, status=401, kind="unauthenticated"):
    """No valid credentials came with the request."""


class LimitExceeded(BatonError, status=403, kind="limit_exceeded"):
    """A plan's limit (workflows, executions, retries) would be passed."""


class InvalidDefinition(BatonError, status=422, kind="invalid_definition"):
    """`issues` lists every problem found ({"path", "message"}); `path` is the first one's."""

    def __init__(self, detail: str, *, path: str | None = None) -> None:
        super().__init__(detail, path=path)
        self.issues: list[dict[str, str]] = []


class InvalidInput(BatonError, status=422, kind="validation_error"):
    """A request whose fields parse but do not fit (a step the workflow does not have): 422 naming it."""


class ServiceUnavailable(BatonError, status=503, kind="unavailable"):
    """A server Baton depends on cannot be reached now; trying again later can help."""
