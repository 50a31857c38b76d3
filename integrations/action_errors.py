"""How an integration's failures are told: `ActionError` (the activity layer turns it into Temporal's
ApplicationError), credentials refused, a secret kept out of a message, the kinds a connection test may
report, Retry-After, a file's failure, and the service's own words (integrations.context uses them all)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core import files
from core.errors import AUTH_FAILED
from core.redaction import REDACTED


class ActionError(Exception):
    """An action failed. `retryable=False` when retrying cannot help (bad input, 4xx); `retry_after` honours
    the service's Retry-After. The activity layer turns this into Temporal's ApplicationError."""

    def __init__(
        self,
        message: str,
        *,
        type: str = "ActionError",  # noqa: A002
        retryable: bool = True,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.retryable = retryable
        self.retry_after = retry_after
        self.details = details or {}


def auth_failed(service: str, reason: str) -> ActionError:
    return ActionError(
        f"{service} refused the connection's credentials ({reason}). Reconnect it (Connections -> "
        "Reconnect, or create a new one) and run the workflow again.",
        type=AUTH_FAILED,
        retryable=False,
    )


def hiding(error: ActionError, secret: str) -> ActionError:
    """`error` with `secret` blanked out of its message: for services whose secret is part of the URL
    (Telegram's bot token, a Discord webhook's token), which transport errors quote."""
    if secret and secret in error.message:
        error.message = error.message.replace(secret, REDACTED)
        error.args = (error.message,)
    return error


# What a connection test may say of a failure: a kind and Baton's own sentence, never the remote server's
# words (a banner or an error page would make the test a port scanner for whatever it can reach).
FAILURE_KINDS: dict[str, str] = {
    "auth": "the service refused the credentials",
    "refused": "the server could not be reached (connection refused or unreachable)",
    "timeout": "the server did not answer in time",
    "tls": "the TLS handshake failed (certificate or protocol)",
    "blocked": "the address is private, loopback, link-local or one of Baton's own servers; an operator "
    "can allow a private range with OUTBOUND_ALLOW",
    "credentials": "the connection's credentials are incomplete or malformed",
    "failed": "the service answered with an error",
}


def failure_kind(error: ActionError) -> str:
    """The FAILURE_KINDS key of an action's error."""
    kind = error.type
    if kind == AUTH_FAILED:
        return "auth"
    if kind == "BlockedAddress":
        return "blocked"
    if kind in {"Timeout", "HTTP408"}:
        return "timeout"
    if kind == "TLSError":
        return "tls"
    if kind == "ConnectionError":
        return "refused"
    if kind in {"InvalidCredentials", "InvalidInput"}:
        return "credentials"
    return "failed"


def credentials_failure_kind(error_type: str) -> str:
    """The FAILURE_KINDS key of a connection that could not be loaded (core.credentials)."""
    if error_type == AUTH_FAILED:
        return "auth"
    if error_type in {"CredentialsUnreadable", "ConnectionNotFound"}:
        return "credentials"
    return "failed"  # a refresh that failed for a passing reason


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (RFC 9110: delay-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def file_error(error: files.FileError) -> ActionError:
    """What goes wrong with a file, as an action's error: nothing about it improves on a retry."""
    kind = {
        files.FileNotFound: "FileNotFound",
        files.FileTooLarge: "FileTooLarge",
        files.InvalidFileRef: "InvalidInput",
    }.get(type(error), "FilesUnavailable")
    return ActionError(str(error), type=kind, retryable=False)


def service_message(response: httpx.Response) -> str:
    """The service's own words about an error (the usual JSON error fields, else the start of the text)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for name in ("message", "error_description", "error", "detail"):
            value = body.get(name)
            if isinstance(value, dict):
                value = value.get("message")
            if value:
                return str(value)[:300]
    return str(body)[:300]
