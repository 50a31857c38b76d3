"""Runs: reading them (detail, timeline, log, live events), controlling them (cancel, retry, resume, pause,
decide) and replaying many at once."""

# mypy: disable-error-code="empty-body"
# (the bodies are `...`: each call is made from its @endpoint description)

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from api.schemas.base import Page
from api.schemas.executions import (
    BulkReplayBody,
    BulkReplayOut,
    DecisionBody,
    ExecutionDetail,
    ExecutionOut,
    LogEntryOut,
    PauseBody,
    ResumeBody,
    Timeline,
    UnpauseBody,
)
from baton.client.endpoints import JSON, WS, Resource, endpoint, fill, pages
from baton.client.transport import UNSET, Event

RUN = WS + "/executions/{execution_id}"
FILTERS = ("workflow_id", "status", "state", "since", "until")


class Executions(Resource):
    @endpoint("GET", WS + "/executions", Page[ExecutionOut], query=(*FILTERS, "limit", "cursor"))
    async def list(
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
    ) -> Page[ExecutionOut]: ...

    @pages(WS + "/executions", ExecutionOut, query=(*FILTERS, "page_size"))
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
    ) -> AsyncIterator[ExecutionOut]:
        """Every run matching the filters, newest first, fetched `page_size` at a time (50 by default)."""

    @endpoint("GET", RUN, ExecutionDetail)
    async def get(self, workspace_id: str, execution_id: str) -> ExecutionDetail:
        """The run with its steps: rendered input (secrets redacted), output, attempts, timing, live state."""

    @endpoint("GET", RUN + "/timeline", Timeline)
    async def timeline(self, workspace_id: str, execution_id: str) -> Timeline: ...

    @endpoint("POST", RUN + "/cancel", ExecutionOut)
    async def cancel(self, workspace_id: str, execution_id: str) -> ExecutionOut: ...

    @endpoint("POST", RUN + "/retry", ExecutionOut)
    async def retry(self, workspace_id: str, execution_id: str) -> ExecutionOut:
        """A new run with the same trigger data."""

    @endpoint("POST", RUN + "/resume", ExecutionOut, body=ResumeBody)
    async def resume(
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

    @endpoint("POST", RUN + "/pause", ExecutionOut, body=PauseBody)
    async def pause(self, workspace_id: str, execution_id: str, reason: str | None = None) -> ExecutionOut:
        """Parks the run before its next step until `unpause`."""

    @endpoint("POST", RUN + "/unpause", ExecutionOut, body=UnpauseBody)
    async def unpause(
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

    @endpoint("POST", WS + "/executions/{action}", BulkReplayOut, body=BulkReplayBody)
    async def replay_in_bulk(
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

    @endpoint("GET", WS + "/executions/batches/{batch_id}", BulkReplayOut)
    async def batch(self, workspace_id: str, batch_id: str) -> BulkReplayOut:
        """A bulk retry's or resume's progress."""

    @endpoint("POST", RUN + "/steps/{step_id}/decision", JSON, body=DecisionBody)
    async def decide(
        self, workspace_id: str, execution_id: str, step_id: str, approved: bool, comment: str | None = None
    ) -> Any:
        """Approves or rejects the approval step `step_id` the run waits on."""

    @endpoint("GET", RUN + "/logs", Page[LogEntryOut], query=("level", "step_id", "limit", "cursor"))
    async def logs(
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

    async def events(
        self, workspace_id: str, execution_id: str, *, last_event_id: str | None = None
    ) -> AsyncIterator[Event]:
        """The run's live events (Server-Sent Events) until its final status: a new stream starts with the
        current status; with `last_event_id`, what happened after that event comes first."""
        async for event in self.http.events(
            fill(RUN + "/events", workspace_id=workspace_id, execution_id=execution_id), last_event_id
        ):
            yield event

    async def workspace_events(self, workspace_id: str) -> AsyncIterator[Event]:
        """Every run's events in the workspace, live (the stream does not end by itself)."""
        async for event in self.http.events(fill(WS + "/events", workspace_id=workspace_id), None):
            yield event
