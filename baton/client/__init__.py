"""Baton's Python client: `Client` (blocking) and `AsyncClient`, every endpoint of the REST API typed with
the server's own models, definitions checked before they are sent (the same JSON paths as the server's
422s), pagination iterators, a run's live events, retries with an Idempotency-Key on 429 and 503, and
errors as exceptions carrying the error body.

    from baton.client import Client

    with Client("http://127.0.0.1:8000", token="bat_...") as baton:
        for workflow in baton.workflows.iterate(workspace_id):
            print(workflow.name, workflow.version)
"""

from baton.client.aio import AsyncClient, Event, HookAnswer
from baton.client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TransportError,
    Unauthorized,
    Unavailable,
)
from baton.client.sync import Client
from core.definition.steps import (
    ActionStep,
    ApprovalStep,
    ConditionStep,
    DelayStep,
    LoopStep,
    ParallelStep,
    RespondStep,
    RetryPolicy,
    SetStep,
    StopStep,
    SubworkflowStep,
    SwitchStep,
)

__all__ = [
    "ActionStep",
    "ApiError",
    "ApprovalStep",
    "AsyncClient",
    "BadRequest",
    "Client",
    "ConditionStep",
    "Conflict",
    "DelayStep",
    "Event",
    "Forbidden",
    "HookAnswer",
    "InvalidInput",
    "LoopStep",
    "NotFound",
    "ParallelStep",
    "RateLimited",
    "RespondStep",
    "RetryPolicy",
    "SetStep",
    "StopStep",
    "SubworkflowStep",
    "SwitchStep",
    "TransportError",
    "Unauthorized",
    "Unavailable",
]
