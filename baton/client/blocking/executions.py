"""The blocking Executions: generated from baton/client/resources/executions.py
by baton/client/generate.py (do not edit; run `python -m baton.client.generate`)."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from api.schemas.base import Page
from api.schemas.executions import BulkReplayOut, ExecutionDetail, ExecutionOut, LogEntryOut, Timeline
from baton.client.portal import Blocking
from baton.client.resources import executions as aio
from baton.client.transport import UNSET, Event


class Executions(Blocking[aio.Executions]):
    def list(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        state: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ExecutionOut]:
        return self._portal.run(
            self._inner.list(
                workspace_id,
                workflow_id=workflow_id,
                status=status,
                state=state,
                since=since,
                until=until,
                limit=limit,
                cursor=cursor,
            )
        )

    def iterate(
        self,
        workspace_id: str,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        state: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int | None = None,
    ) -> Iterator[ExecutionOut]:
        """Every run matching the filters, newest first, fetched `page_size` at a time (50 by default)."""
        return self._portal.iterate(
            self._inner.iterate(
                workspace_id,
                workflow_id=workflow_id,
                status=status,
                state=state,
                since=since,
                until=until,
                page_size=page_size,
            )
        )

    def get(self, workspace_id: str, execution_id: str) -> ExecutionDetail:
        """The run with its steps: rendered input (secrets redacted), output, attempts, timing, live state."""
        return self._portal.run(self._inner.get(workspace_id, execution_id))

    def timeline(self, workspace_id: str, execution_id: str) -> Timeline:
        return self._portal.run(self._inner.timeline(workspace_id, execution_id))

    def cancel(self, workspace_id: str, execution_id: str) -> ExecutionOut:
        return self._portal.run(self._inner.cancel(workspace_id, execution_id))

    def retry(self, workspace_id: str, execution_id: str) -> ExecutionOut:
        """A new run with the same trigger data."""
        return self._portal.run(self._inner.retry(workspace_id, execution_id))

    def resume(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        latest_version: bool = False,
        from_step: str | None = None,
        trigger_data: Any = UNSET,
        step_outputs: dict[str, Any] | None = None,
    ) -> ExecutionOut:
        """A new run from the failed step (or `from_step`), reusing the outputs of the steps that succeeded
        before it; `trigger_data` and `step_outputs` replace the failed run's trigger and earlier outputs."""
        return self._portal.run(
            self._inner.resume(
                workspace_id,
                execution_id,
                latest_version=latest_version,
                from_step=from_step,
                trigger_data=trigger_data,
                step_outputs=step_outputs,
            )
        )

    def pause(self, workspace_id: str, execution_id: str, reason: str | None = None) -> ExecutionOut:
        """Parks the run before its next step until `unpause`."""
        return self._portal.run(self._inner.pause(workspace_id, execution_id, reason))

    def unpause(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        step_input: dict[str, Any] | None = None,
        give_up: bool = False,
        latest_version: bool = False,
    ) -> ExecutionOut:
        """Lets a paused run go on; a step parked by onError "pause" is tried again (on `step_input`, or
        from it on the latest published version), or fails with `give_up`."""
        return self._portal.run(
            self._inner.unpause(
                workspace_id,
                execution_id,
                step_input=step_input,
                give_up=give_up,
                latest_version=latest_version,
            )
        )

    def replay_in_bulk(
        self,
        workspace_id: str,
        action: str = "retry",
        *,
        workflow_id: str | None = None,
        status: Sequence[str] = ("FAILED", "TIMEOUT"),
        since: datetime | None = None,
        until: datetime | None = None,
        error_contains: str | None = None,
        limit: int = 100,
        dry_run: bool = False,
        latest_version: bool = False,
    ) -> BulkReplayOut:
        """Retries (`action="retry"`) or resumes (`"resume"`) the runs that match, oldest first, at most
        `limit`, as a durable batch (`dry_run`: counts them and starts nothing); follow it with `batch`."""
        return self._portal.run(
            self._inner.replay_in_bulk(
                workspace_id,
                action,
                workflow_id=workflow_id,
                status=status,
                since=since,
                until=until,
                error_contains=error_contains,
                limit=limit,
                dry_run=dry_run,
                latest_version=latest_version,
            )
        )

    def batch(self, workspace_id: str, batch_id: str) -> BulkReplayOut:
        """A bulk retry's or resume's progress."""
        return self._portal.run(self._inner.batch(workspace_id, batch_id))

    def decide(
        self,
        workspace_id: str,
        execution_id: str,
        step_id: str,
        approved: bool,
        comment: str | None = None,
    ) -> Any:
        """Approves or rejects the approval step `step_id` the run waits on."""
        return self._portal.run(self._inner.decide(workspace_id, execution_id, step_id, approved, comment))

    def logs(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        level: str | None = None,
        step_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[LogEntryOut]:
        """The run's log in time order (entries are written in batches: the newest may take a second)."""
        return self._portal.run(
            self._inner.logs(
                workspace_id,
                execution_id,
                level=level,
                step_id=step_id,
                limit=limit,
                cursor=cursor,
            )
        )

    def events(
        self,
        workspace_id: str,
        execution_id: str,
        *,
        last_event_id: str | None = None,
    ) -> Iterator[Event]:
        """The run's live events (Server-Sent Events) until its final status: a new stream starts with the
        current status; with `last_event_id`, what happened after that event comes first."""
        return self._portal.iterate(
            self._inner.events(
                workspace_id,
                execution_id,
                last_event_id=last_event_id,
            )
        )

    def workspace_events(self, workspace_id: str) -> Iterator[Event]:
        """Every run's events in the workspace, live (the stream does not end by itself)."""
        return self._portal.iterate(self._inner.workspace_events(workspace_id))
