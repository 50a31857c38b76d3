"""How a run's failure reads in the Temporal Web UI: the step's name and the user's message, never Baton's
Python stack trace (the interpreter's frames say nothing to a workflow's author, and its result pane showed
them). The interpreter raises RunEnded for a run that ends FAILED or TIMEOUT; the failure converters below,
which every Temporal client of Baton uses (core.codec), write it without a stack trace. Other failures
(an activity's, a workflow task's) keep theirs for Baton's operators."""

from __future__ import annotations

from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter
from temporalio.exceptions import ApplicationError


class RunEnded(ApplicationError):
    """The run's own end as a failure: its message is what the author reads (the step, their message)."""


def run_failure_message(step_label: str | None, message: str) -> str:
    """`Fetch orders: POST https://shop.example/orders answered 500`: the failed step, then its message."""
    return f"{step_label}: {message}" if step_label else message


class RunFailureConverter(DefaultFailureConverter):
    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        if isinstance(exception, RunEnded):
            exception.__traceback__ = None  # converted once, as the run closes: nothing reads it after
        super().to_failure(exception, payload_converter, failure)


class SealedRunFailureConverter(RunFailureConverter):
    """RunFailureConverter with the message sealed by the payload codec (TEMPORAL_ENCRYPT_PAYLOADS)."""

    def __init__(self, **_: Any) -> None:
        super().__init__(encode_common_attributes=True)
