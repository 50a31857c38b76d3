"""One Temporal activity per implemented catalogue action, named after it (`http.request`) so a run's
history in the Temporal Web UI reads like the workflow.

Each activity also writes its step's StepExecution row and the rows the interpreter buffered since the
last write, in one transaction: recording costs no extra round trip through Temporal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.connections import ConnectionCredentials
from core.execution import MAX_OUTPUT_BYTES, ActionRequest, StepRecord
from core.models import ExecutionStatus
from integrations.catalogue import INTEGRATIONS
from integrations.sdk import ActionContext, ActionError, ActionSpec


def to_application_error(error: ActionError) -> ApplicationError:
    return ApplicationError(
        error.message,
        error.details,
        type=error.type,
        non_retryable=not error.retryable,
        next_retry_delay=timedelta(seconds=error.retry_after) if error.retry_after is not None else None,
    )


class StepRecorder:
    """What an action activity needs to write rows (implemented by activities.records.RecordActivities)."""

    async def write_action_result(self, request: ActionRequest, record: StepRecord) -> None:
        raise NotImplementedError


class ActionActivities:
    """Built once per worker with its shared HTTP client (connection pooling across all actions)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        recorder: StepRecorder | None = None,
        credentials: ConnectionCredentials | None = None,
    ) -> None:
        self._http = http
        self._recorder = recorder
        self._credentials = credentials

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
                first = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ApplicationError(
                    f"{spec.id}: invalid input{f' at {where}' if where else ''}: {first['msg']}",
                    type="InvalidInput",
                    non_retryable=True,
                ) from exc
            secrets: dict[str, Any] = {}
            if request.connection_id:
                if self._credentials is None:
                    raise ApplicationError("this worker cannot read connections", type="NoCredentialStore")
                secrets = await self._credentials.load(request.connection_id, request.workspace_id)
            context = ActionContext(credentials=secrets, http=self._http, logger=logger)
            try:
                result = await run(data, context)
            except ActionError as exc:
                raise to_application_error(exc) from exc
            output: dict[str, Any] = result.model_dump(mode="json", by_alias=True)
            size = len(json.dumps(output, separators=(",", ":")))
            if size > MAX_OUTPUT_BYTES:
                raise ApplicationError(
                    f"{spec.id} returned {size // 1024} KiB; a step output may be at most "
                    f"{MAX_OUTPUT_BYTES // 1024} KiB (narrow the request: fewer fields, a smaller page)",
                    type="OutputTooLarge",
                    non_retryable=True,
                )
            if request.record and self._recorder is not None and request.step_key and request.step_id:
                record = StepRecord(
                    key=request.step_key,
                    step_id=request.step_id,
                    step_type="action",
                    status=ExecutionStatus.SUCCESS.value,
                    input=request.input,
                    output=output,
                    started_at=request.started_at,
                    completed_at=datetime.now(UTC).isoformat(),
                    retry_count=activity.info().attempt - 1,
                )
                await self._recorder.write_action_result(request, record)
            return output

        return activity.defn(name=spec.id)(execute)
