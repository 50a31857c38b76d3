"""Workflows: drafts checked on the client as the server checks them, versions, runs, schedules, export."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from api.schemas.base import Page
from api.schemas.executions import ExecutionOut
from api.schemas.workflows import (
    BackfillAccepted,
    BackfillBody,
    PublishBody,
    RunBody,
    ScheduleOut,
    VersionOut,
    WorkflowCreate,
    WorkflowExport,
    WorkflowImport,
    WorkflowOut,
    WorkflowUpdate,
)
from baton.client.definition import StepLike, checked
from baton.client.endpoints import WS, Resource, endpoint, pages
from baton.client.transport import UNSET

WORKFLOW = WS + "/workflows/{workflow_id}"
FROM_TO = {"since": "from", "until": "to"}


def _created(given: dict[str, Any]) -> dict[str, Any]:
    """A new draft's steps checked (and in JSON shape) before anything is sent."""
    config = given["trigger_config"] or {}
    return given | {"trigger_config": config, "steps": checked(given["trigger_type"], config, given["steps"])}


def _updated(given: dict[str, Any]) -> dict[str, Any]:
    """The steps of a change checked against the trigger given with them (if any)."""
    if given["steps"] is UNSET:
        return given
    trigger_type = None if given["trigger_type"] is UNSET else given["trigger_type"]
    config = None if given["trigger_config"] is UNSET else given["trigger_config"]
    return given | {"steps": checked(trigger_type, config, given["steps"])}


def _exported(given: dict[str, Any]) -> dict[str, Any]:
    workflow = given["workflow"]
    if isinstance(workflow, BaseModel):
        workflow = workflow.model_dump(by_alias=True, mode="json")
    return given | {"workflow": workflow}


class Workflows(Resource):
    @endpoint("POST", WS + "/workflows", WorkflowOut, body=WorkflowCreate, prepare=_created)
    async def create(
        self,
        workspace_id: str,
        name: str,
        trigger_type: str,
        steps: Sequence[StepLike] = (),
        *,
        trigger_config: dict[str, Any] | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        folder: str | None = None,
        connection_id: str | None = None,
        key: str | None = None,
        error_workflow_id: str | None = None,
        concurrency: dict[str, Any] | None = None,
        priority: int | None = None,
    ) -> WorkflowOut:
        """A new draft (publish it to run it). `steps` are dicts in DEFINITION.md's shape or step models
        (core.definition.steps.ActionStep...); they are checked here as the server checks them.
        `concurrency` ({"limit": 1, "key": "{{ trigger.body.customerId }}"}) and `priority` (1-5): see
        README's "Concurrency limits" and "Fair tenants and priorities"."""

    @endpoint("GET", WS + "/workflows", Page[WorkflowOut], query=("tag", "key", "limit", "cursor"))
    async def list(
        self,
        workspace_id: str,
        *,
        tag: str | None = None,
        key: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[WorkflowOut]: ...

    @pages(WS + "/workflows", WorkflowOut, query=("tag", "page_size"))
    def iterate(
        self, workspace_id: str, *, tag: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[WorkflowOut]:
        """Every workflow of the workspace, fetched `page_size` at a time (50 by default)."""

    @endpoint("GET", WORKFLOW, WorkflowOut)
    async def get(self, workspace_id: str, workflow_id: str) -> WorkflowOut: ...

    @endpoint("PATCH", WORKFLOW, WorkflowOut, body=WorkflowUpdate, prepare=_updated)
    async def update(
        self,
        workspace_id: str,
        workflow_id: str,
        *,
        name: str = UNSET,
        description: str | None = UNSET,
        trigger_type: str = UNSET,
        trigger_config: dict[str, Any] = UNSET,
        steps: Sequence[StepLike] = UNSET,
        tags: Sequence[str] = UNSET,
        folder: str | None = UNSET,
        connection_id: str | None = UNSET,
        key: str | None = UNSET,
        error_workflow_id: str | None = UNSET,
        concurrency: dict[str, Any] | None = UNSET,
        priority: int | None = UNSET,
    ) -> WorkflowOut:
        """Changes the draft: only the fields given (`None` clears description, folder, connectionId,
        concurrency, priority)."""

    @endpoint("DELETE", WORKFLOW)
    async def delete(self, workspace_id: str, workflow_id: str) -> None: ...

    @endpoint("POST", WORKFLOW + "/publish", VersionOut, body=PublishBody)
    async def publish(
        self, workspace_id: str, workflow_id: str, change_description: str | None = None
    ) -> VersionOut:
        """Snapshots the draft as a new version and makes the workflow active (its trigger armed)."""

    @endpoint("POST", WORKFLOW + "/activate", WorkflowOut)
    async def activate(self, workspace_id: str, workflow_id: str) -> WorkflowOut: ...

    @endpoint("POST", WORKFLOW + "/deactivate", WorkflowOut)
    async def deactivate(self, workspace_id: str, workflow_id: str) -> WorkflowOut: ...

    @endpoint("POST", WORKFLOW + "/duplicate", WorkflowOut)
    async def duplicate(self, workspace_id: str, workflow_id: str) -> WorkflowOut: ...

    @endpoint("GET", WORKFLOW + "/versions", Page[VersionOut], query=("limit", "cursor"))
    async def versions(
        self, workspace_id: str, workflow_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[VersionOut]: ...

    @endpoint("GET", WORKFLOW + "/versions/{version}", VersionOut)
    async def version(self, workspace_id: str, workflow_id: str, version: int) -> VersionOut: ...

    @endpoint("POST", WORKFLOW + "/versions/{version}/restore", VersionOut)
    async def restore(self, workspace_id: str, workflow_id: str, version: int) -> VersionOut: ...

    @endpoint(
        "POST", WORKFLOW + "/run", ExecutionOut, body=RunBody, query=("wait", "timeout_seconds", "draft")
    )
    async def run(
        self,
        workspace_id: str,
        workflow_id: str,
        payload: Any = None,
        *,
        wait: bool = False,
        timeout_seconds: float | None = None,
        draft: bool = False,
        idempotency_key: str | None = None,
    ) -> ExecutionOut:
        """Starts a run with `payload` as its `trigger`; `wait=True` answers when it ended (or at the
        timeout). Retried calls carry the same Idempotency-Key: one run, however many tries."""

    @endpoint("GET", WORKFLOW + "/schedule", ScheduleOut)
    async def schedule(self, workspace_id: str, workflow_id: str) -> ScheduleOut:
        """A SCHEDULE workflow's next slots and the runs its latest slots started."""

    @endpoint("POST", WORKFLOW + "/backfill", BackfillAccepted, body=BackfillBody, names=FROM_TO)
    async def backfill(
        self,
        workspace_id: str,
        workflow_id: str,
        since: datetime,
        until: datetime,
        overlap: str | None = None,
    ) -> BackfillAccepted:
        """Runs the slots the schedule missed in [since, until) (overlap: skip, buffer_one, buffer_all,
        allow_all; default the schedule's)."""

    @endpoint("GET", WORKFLOW + "/export", WorkflowExport)
    async def export(self, workspace_id: str, workflow_id: str) -> WorkflowExport: ...

    @endpoint("POST", WS + "/workflows/import", WorkflowOut, body=WorkflowImport, prepare=_exported)
    async def import_(
        self,
        workspace_id: str,
        workflow: WorkflowExport | dict[str, Any],
        connection_map: dict[str, str] | None = None,
    ) -> WorkflowOut: ...
