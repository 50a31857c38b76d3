"""Domain errors: each carries its HTTP status and error kind; the API maps them to JSON in one place."""

from __future__ import annotations

# The error type of a service refusing a connection's credentials (an action's, a token refresh's).
AUTH_FAILED = "AuthenticationFailed"


class BatonError(Exception):
    status_code = 400
    kind = "bad_request"

    def __init__(self, detail: str, *, path: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.path = path


class NotFound(BatonError):
    status_code = 404
    kind = "not_found"


class Conflict(BatonError):
    status_code = 409
    kind = "conflict"


class PermissionDenied(BatonError):
    status_code = 403
    kind = "forbidden"


class Unauthenticated(BatonError):
    status_code = 401
    kind = "unauthenticated"


class LimitExceeded(BatonError):
    status_code = 403
    kind = "limit_exceeded"


class InvalidDefinition(BatonError):
    """`issues` lists every problem found ({"path", "message"}); `path` is the first one's."""

    status_code = 422
    kind = "invalid_definition"

    def __init__(self, detail: str, *, path: str | None = None) -> None:
        super().__init__(detail, path=path)
        self.issues: list[dict[str, str]] = []


class InvalidInput(BatonError):
    """A request whose fields parse but do not fit (a step the workflow does not have): 422 naming it."""

    status_code = 422
    kind = "validation_error"


class ServiceUnavailable(BatonError):
    status_code = 503
    kind = "unavailable"
