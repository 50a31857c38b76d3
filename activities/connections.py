"""The worker's side of core.credentials: a connection that cannot be used fails the step (or the poll)
with Temporal's error of the same type, retried only when a retry can help (a refresh that is busy or
failed for a passing reason)."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from core.credentials import ConnectionCredentials, CredentialsError, LoadedConnection

__all__ = ["WorkerCredentials", "LoadedConnection", "to_activity_error"]


def to_activity_error(error: CredentialsError) -> ApplicationError:
    return ApplicationError(error.detail, type=error.type, non_retryable=not error.retryable)


class WorkerCredentials(ConnectionCredentials):
    def failure(self, error: CredentialsError) -> Exception:
        return to_activity_error(error)
