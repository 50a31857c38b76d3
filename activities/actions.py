"""One Temporal activity per implemented catalogue action, named after it (`http.request`) so a run's
history in the Temporal Web UI reads like the workflow."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.catalogue import INTEGRATIONS
from integrations.sdk import ActionContext, ActionError, ActionSpec


@dataclass
class ActionRequest:
    """The single input of every action activity (a dataclass so fields can be added compatibly)."""

    input: dict[str, Any]
    execution_id: str | None = None
    step_id: str | None = None
    connection_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def to_application_error(error: ActionError) -> ApplicationError:
    return ApplicationError(
        error.message,
        error.details,
        type=error.type,
        non_retryable=not error.retryable,
        next_retry_delay=timedelta(seconds=error.retry_after) if error.retry_after is not None else None,
    )


class ActionActivities:
    """Built once per worker with its shared HTTP client (connection pooling across all actions)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def activities(self) -> list[Callable[..., Awaitable[dict[str, Any]]]]:
        return [
            self._activity_for(spec)
            for integration in INTEGRATIONS.values()
            for spec in integration.actions.values()
            if spec.is_implemented
        ]

    def _activity_for(self, spec: ActionSpec[Any, Any]) -> Callable[..., Awaitable[dict[str, Any]]]:
        run = spec.run
        assert run is not None
        logger = logging.getLogger(f"baton.action.{spec.id}")

        async def execute(request: ActionRequest) -> dict[str, Any]:
            try:
                data = spec.input_model.model_validate(request.input)
            except ValidationError as exc:
                raise ApplicationError(
                    f"{spec.id}: invalid input: {exc.errors()[0]['msg']}",
                    exc.errors(include_url=False),
                    type="InvalidInput",
                    non_retryable=True,
                ) from exc
            context = ActionContext(credentials={}, http=self._http, logger=logger)
            try:
                output = await run(data, context)
            except ActionError as exc:
                raise to_application_error(exc) from exc
            return output.model_dump(mode="json", by_alias=True)

        return activity.defn(name=spec.id)(execute)
