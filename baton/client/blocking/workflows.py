"""The blocking Workflows: generated from baton/client/resources/workflows.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from api.schemas.base import Page
from api.schemas.executions import ExecutionOut
from api.schemas.workflows import BackfillAccepted, ScheduleOut, VersionOut, WorkflowExport, WorkflowOut
from baton.client.definition import StepLike
from baton.client.portal import Blocking
from baton.client.resources import workflows as aio
from baton.client.transport import UNSET


class Workflows(Blocking[aio.Workflows]):
    def create(
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
        return self._portal.run(
            self._inner.create(
                workspace_id,
                name,
                trigger_type,
                steps,
                trigger_config=trigger_config,
                description=description,
                tags=tags,
                folder=folder,
                connection_id=connection_id,
                key=key,
                error_workflow_id=error_workflow_id,
                concurrency=concurrency,
                priority=priority,
            )
        )

    def list(
        self,
        workspace_id: str,
        *,
        tag: str | None = None,
        key: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[WorkflowOut]:
        return self._portal.run(self._inner.list(workspace_id, tag=tag, key=key, limit=limit, cursor=cursor))

    def iterate(
        self,
        workspace_id: str,
        *,
        tag: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[WorkflowOut]:
        """Every workflow of the workspace, fetched `page_size` at a time (50 by default)."""
        return self._portal.iterate(self._inner.iterate(workspace_id, tag=tag, page_size=page_size))

    def get(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        return self._portal.run(self._inner.get(workspace_id, workflow_id))

    def update(
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
        return self._portal.run(
            self._inner.update(
                workspace_id,
                workflow_id,
                name=name,
                description=description,
                trigger_type=trigger_type,
                trigger_config=trigger_config,
                steps=steps,
                tags=tags,
                folder=folder,
                connection_id=connection_id,
                key=key,
                error_workflow_id=error_workflow_id,
                concurrency=concurrency,
                priority=priority,
            )
        )

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        return self._portal.run(self._inner.delete(workspace_id, workflow_id))

    def publish(
        self,
        workspace_id: str,
        workflow_id: str,
        change_description: str | None = None,
    ) -> VersionOut:
        """Snapshots the draft as a new version and makes the workflow active (its trigger armed)."""
        return self._portal.run(self._inner.publish(workspace_id, workflow_id, change_description))

    def activate(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        return self._portal.run(self._inner.activate(workspace_id, workflow_id))

    def deactivate(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        return self._portal.run(self._inner.deactivate(workspace_id, workflow_id))

    def duplicate(self, workspace_id: str, workflow_id: str) -> WorkflowOut:
        return self._portal.run(self._inner.duplicate(workspace_id, workflow_id))

    def versions(
        self,
        workspace_id: str,
        workflow_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[VersionOut]:
        return self._portal.run(self._inner.versions(workspace_id, workflow_id, limit=limit, cursor=cursor))

    def version(self, workspace_id: str, workflow_id: str, version: int) -> VersionOut:
        return self._portal.run(self._inner.version(workspace_id, workflow_id, version))

    def restore(self, workspace_id: str, workflow_id: str, version: int) -> VersionOut:
        return self._portal.run(self._inner.restore(workspace_id, workflow_id, version))

    def run(
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
        return self._portal.run(
            self._inner.run(
                workspace_id,
                workflow_id,
                payload,
                wait=wait,
                timeout_seconds=timeout_seconds,
                draft=draft,
                idempotency_key=idempotency_key,
            )
        )

    def schedule(self, workspace_id: str, workflow_id: str) -> ScheduleOut:
        """A SCHEDULE workflow's next slots and the runs its latest slots started."""
        return self._portal.run(self._inner.schedule(workspace_id, workflow_id))

    def backfill(
        self,
        workspace_id: str,
        workflow_id: str,
        since: datetime,
        until: datetime,
        overlap: str | None = None,
    ) -> BackfillAccepted:
        """Runs the slots the schedule missed in [since, until) (overlap: skip, buffer_one, buffer_all,
        allow_all; default the schedule's)."""
        return self._portal.run(self._inner.backfill(workspace_id, workflow_id, since, until, overlap))

    def export(self, workspace_id: str, workflow_id: str) -> WorkflowExport:
        return self._portal.run(self._inner.export(workspace_id, workflow_id))

    def import_(
        self,
        workspace_id: str,
        workflow: WorkflowExport | dict[str, Any],
        connection_map: dict[str, str] | None = None,
    ) -> WorkflowOut:
        return self._portal.run(self._inner.import_(workspace_id, workflow, connection_map))
