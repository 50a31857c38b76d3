"""Events: something that happened elsewhere (a payment, a callback), sent to a workspace by name
(`POST /workspaces/{id}/events {name, data, idempotencyKey?}`) and handed to every run of the workspace
whose `wait` step waits for that name; each run's step decides by its `match` (worker.event_waits).

Which runs wait is read from their step rows (a waiting step's row says `{"for": "event", "event": name}`;
the run writes it before it begins to wait, so a run whose row shows is ready for the event). Each gets the
event as a `deliver` update whose id is the event's: the same event sent again (the same `idempotencyKey`)
is the same update in that run, so it resumes none of the run's steps a second time.

An event is not kept: it resumes the runs waiting when it arrives, and an event sent a moment before a run
reaches its `wait` step does not resume it later. The answer lists the runs it resumed, so a sender that
expected one and got none can send it again with the same key.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from core.contract import DELIVER_UPDATE, run_workflow_id
from core.models.enums import OPEN_STATUSES
from core.runs.starts import RunUseCase
from core.runs.waits import Delivery, Event

EVENT_NAMESPACE = uuid.UUID("0f5d7c1e-52a4-4c8e-9f6b-3d1e8a2b7c40")
# how many runs are handed one event at once
FAN_OUT = 32
WAITING_FOR = text(
    """
    SELECT se.execution_id, se.step_id
    FROM step_executions se
    JOIN workflow_executions we ON we.id = se.execution_id
    JOIN workflows w ON w.id = we.workflow_id
    WHERE se.state IS NOT NULL
      AND se.state->>'for' = 'event'
      AND se.state->>'event' = :name
      AND w.workspace_id = :workspace_id
      AND we.status::text = ANY(:open)
    """
)


@dataclass
class Published:
    """What became of an event: the runs it resumed, and how many were waiting for its name."""

    event: Event
    waiting: int = 0
    resumed: list[str] = field(default_factory=list)


def event_id(workspace_id: str, idempotency_key: str | None) -> str:
    """The same key is the same event (in its workspace); without one, a new event."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{workspace_id}|{idempotency_key}"))


class RunEvents(RunUseCase):
    async def publish(
        self, workspace_id: str, name: str, data: Any, idempotency_key: str | None = None
    ) -> Published:
        """Hands the event to every run of the workspace waiting for its name; each takes it or not."""
        event = Event(
            id=event_id(workspace_id, idempotency_key),
            name=name,
            data=data,
            received_at=datetime.now(UTC).isoformat(),
        )
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    WAITING_FOR, {"name": name, "workspace_id": workspace_id, "open": list(OPEN_STATUSES)}
                )
            ).all()
        published = Published(event, waiting=len(rows))
        slots = asyncio.Semaphore(FAN_OUT)

        async def hand(execution_id: str, step_id: str) -> None:
            async with slots:
                if await self.deliver(execution_id, step_id, event):
                    published.resumed.append(execution_id)

        await asyncio.gather(*(hand(row.execution_id, row.step_id) for row in rows))
        published.resumed.sort()
        return published

    async def deliver(self, execution_id: str, step_id: str, event: Event) -> bool:
        """Whether the run's step took the event. A run that refuses it (no match, no longer waiting),
        has ended, or whose worker does not answer in time is passed over."""
        handle = self._client.get_workflow_handle(run_workflow_id(execution_id))
        try:
            answer = await handle.execute_update(
                DELIVER_UPDATE,
                Delivery(step_id, event=event),
                id=f"event:{event.id}",
                result_type=dict,
                rpc_timeout=timedelta(seconds=self._settings.decision_timeout_seconds),
            )
        except (WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, RPCError):
            return False
        # the same event sent again answers its first outcome, for the step it resumed then: not this one
        return bool(answer.get("resumed")) and answer.get("stepId") == step_id
