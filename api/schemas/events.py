"""The API shapes of events sent to a workspace's waiting runs (core.runs.events)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.base import ApiModel, RequestBody


class EventBody(RequestBody):
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        examples=["order.paid"],
        description="The event's name: the `event` of the `wait` steps it is for",
    )
    data: Any = Field(default=None, description="Any JSON value: the event's `data` in the steps it resumes")
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The same key is the same event: sent again, it resumes no step a second time",
    )


class EventOut(ApiModel):
    id: str = Field(description="The event's id (the same for the same idempotencyKey)")
    name: str
    received_at: str
    waiting: int = Field(description="How many runs were waiting for an event of this name")
    resumed: list[str] = Field(
        description="The executions whose wait step it resumed (its match accepted it)"
    )
