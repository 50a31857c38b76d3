"""Starting runs: what to run (a published version, through the workflow cache, or a draft), the quota,
the PENDING execution row, then the Temporal workflow `run-{executionId}` of type BatonRun, started by name
(the API never imports the worker).

The row is written first so the id exists before the run does; its `context` keeps what later operations
need (version, trigger type, Temporal ids). Every way a run comes to be (the API, a trigger, an alert, a
replay) says so in one `StartRequest`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.blobs import run_value_limit
from core.contract import CURRENT_ENGINE, RunInput, RunResult, run_workflow_id, run_workflow_type
from core.definition.triggers import payload_problem
from core.errors import BatonError, InvalidInput, NotFound, ServiceUnavailable
from core.models.tables import WORKFLOWS, WORKSPACES
from core.outages import best_effort
from core.quotas import ExecutionQuota
from core.redis_keys import RedisKeys
from core.runs.handles import run_details, run_priority, run_search_attributes, run_summary
from core.runs.rows import ExecutionRows
from core.settings import Settings
from core.temporal import (
    SEARCH_ATTRIBUTES,
    SearchAttributesMissing,
    missing_search_attributes,
    names_a_missing_search_attribute,
)
from core.workflows import VersionToRun, definition_of, version_to_run

# A workspace's maxExecutions, read at most every PLAN_CACHE_SECONDS per process (a plan change applies
# within that long); the count itself is exact, in Redis.
PLAN_CACHE_SECONDS = 30.0
_plan_cache: dict[str, tuple[float, int]] = {}


# Manual runs started with an Idempotency-Key: the key names the execution, so the same key on the same
# workflow names the same run, for as long as Temporal keeps its history (see `execution_id_for_key`).
MANUAL_RUN_KEYS = uuid.UUID("6f1c9d2e-4b7a-4e3f-9a8c-2d5e7f9b1c30")
MAX_IDEMPOTENCY_KEY = 255


def execution_id_for_key(workflow_id: str, key: str) -> str:
    """The execution id a manual run started with `key` gets: a retried call (a lost answer, a 503) starts
    nothing new, it answers the run the first call started. Scoped to the workflow."""
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters", path="Idempotency-Key"
        )
    return str(uuid.uuid5(MANUAL_RUN_KEYS, f"{workflow_id}\n{key}"))


def forget_plan(workspace_id: str) -> None:
    """Drops this process's cached maxExecutions of a workspace (its plan just changed)."""
    _plan_cache.pop(workspace_id, None)


WORKFLOW_CACHE_SECONDS = 300


@dataclass(frozen=True)
class WorkflowCache:
    redis: Redis
    keys: RedisKeys

    async def forget(self, workflow_id: str) -> None:
        await self.redis.delete(self.keys.workflow_cache(workflow_id))


class InvalidIdempotencyKey(BatonError, status=400, kind="invalid_body"):
    """An Idempotency-Key header that is empty or too long."""


@dataclass(frozen=True)
class StartRequest:
    """What to start: the version, its trigger data, and how the run came to be. One object for `prepare`
    and `start`, so a new way of starting (a trigger, a replay) adds a field here, not a parameter to every
    signature between the caller and Temporal."""

    target: VersionToRun
    trigger_data: Any
    trigger_type: str | None = None  # None: the definition's own
    execution_id: str | None = None  # None: a fresh one
    retry_count: int = 0
    reused_outputs: dict[str, Any] | None = None  # a resume: the outputs of steps that need not run again
    # A step tested alone (core.runs.drafts): the outputs and vars its expressions read, not steps of its run
    scope_outputs: dict[str, Any] | None = None
    scope_vars: dict[str, Any] | None = None
    resumed_from: str | None = None
    test: bool = False  # a draft run from the editor
    idempotent: bool = False  # `execution_id` derives from what triggered the run: a retry starts nothing
    alert_of: str | None = None  # an error workflow's run: the execution whose failure it reports
    start_delay: float = 0.0  # seconds: a throttled run starts later (`prepare` ignores it)


@dataclass(frozen=True)
class StartedRun:
    execution_id: str
    workflow_id: str
    version: int
    temporal_workflow_id: str
    temporal_run_id: str | None


class RunStarts:
    def __init__(
        self,
        engine: AsyncEngine,
        client: Client,
        settings: Settings,
        rows: ExecutionRows,
        quota: ExecutionQuota | None = None,
        cache: WorkflowCache | None = None,
    ) -> None:
        self._engine = engine
        self.rows = rows
        self._client = client
        self._settings = settings
        self._quota = quota
        self._cache = cache

    async def published_version(self, workflow_id: str, version: int | None = None) -> VersionToRun:
        """A given version, or the latest one through the seed's `workflow:{id}` cache (5 minutes; every
        write to the workflow drops it)."""
        if version is None and self._cache is not None:
            key = self._cache.keys.workflow_cache(workflow_id)
            cached = await best_effort(self._cache.redis.get(key), None, "the workflow cache")
            if cached:
                return VersionToRun(**json.loads(cached))
        target = await self._load_version(workflow_id, version)
        if version is None and self._cache is not None:
            await best_effort(
                self._cache.redis.set(key, json.dumps(asdict(target)), ex=WORKFLOW_CACHE_SECONDS),
                None,
                "the workflow cache",
            )
        return target

    async def _load_version(self, workflow_id: str, version: int | None) -> VersionToRun:
        async with self._engine.connect() as connection:
            target = await version_to_run(connection, workflow_id, version)
        if target is None:
            which = f"version {version}" if version is not None else "a published version"
            raise NotFound(f"workflow {workflow_id} has no {which}; publish it first")
        return target

    async def draft(self, workflow_id: str) -> VersionToRun:
        """The workflow as currently saved (for test runs of a draft)."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(WORKFLOWS).where(WORKFLOWS.c.id == workflow_id))).first()
        if row is None:
            raise NotFound(f"workflow {workflow_id} does not exist")
        return VersionToRun(
            workflow_id, row.workspace_id, row.version, definition_of(row), row.name, row.priority
        )

    async def prepare(self, request: StartRequest) -> RunInput:
        """Counts the run against the quota and writes its PENDING execution row; returns what to start.

        With `idempotent`, `execution_id` is derived from what triggered the run (a polled item, a schedule
        tick): when its row already exists (a retried trigger), nothing is counted or written again."""
        target, trigger_data, execution_id = request.target, request.trigger_data, request.execution_id
        trigger_type, resumed_from = request.trigger_type, request.resumed_from
        if execution_id is not None and request.idempotent and await self.rows.exists(execution_id):
            created = False
        else:
            if self._quota is not None:
                await self._quota.take(target.workspace_id, await self._max_executions(target.workspace_id))
            created = True
        execution_id = execution_id or str(uuid.uuid4())
        trigger_type = trigger_type or str(target.definition.get("triggerType", "MANUAL"))
        context: dict[str, Any] = {
            "version": target.version,
            "triggerType": trigger_type,
            "temporalWorkflowId": run_workflow_id(execution_id),
        }
        if resumed_from:
            context["resumedFrom"] = resumed_from
        if request.test:
            context["test"] = True  # a draft run from the editor, not a published version's
        if request.alert_of:
            context["alertOf"] = request.alert_of  # an error workflow's run: its own failure alerts no one
        if created:
            await self.rows.insert_pending(
                execution_id, target.workflow_id, trigger_data, context, request.retry_count
            )
        return RunInput(
            execution_id=execution_id,
            workflow_id=target.workflow_id,
            workspace_id=target.workspace_id,
            version=target.version,
            definition=target.definition,
            trigger_data=trigger_data,
            trigger_type=trigger_type,
            started_at=datetime.now(UTC).isoformat(),
            timeout_seconds=self._settings.run_timeout_seconds,
            reused_outputs=request.reused_outputs or {},
            carried_outputs=request.scope_outputs or {},
            carried_vars=request.scope_vars or {},
            workflow_name=target.name,
            engine=CURRENT_ENGINE,
            value_limit=run_value_limit(self._settings),
        )

    async def start(self, request: StartRequest) -> StartedRun:
        """Writes the PENDING execution row, then starts the run (with `idempotent`, a second call for the
        same `execution_id` starts nothing and answers the run already there)."""
        run = await self.prepare(request)
        target, start_delay = request.target, request.start_delay
        if start_delay > 0:  # it starts then: its `execution.startedAt` (and its row's) says so
            later = datetime.fromisoformat(run.started_at or datetime.now(UTC).isoformat()) + timedelta(
                seconds=start_delay
            )
            run = replace(run, started_at=later.isoformat())
        temporal_id = run_workflow_id(run.execution_id)
        try:
            handle = await self._client.start_workflow(
                run_workflow_type(run.workflow_name),  # the Web UI's list names the workflow
                run,
                id=temporal_id,
                task_queue=self._settings.temporal_task_queue,
                result_type=RunResult,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=run_search_attributes(run),
                static_summary=run_summary(run),
                static_details=run_details(run),
                # a throttled run starts later: Temporal holds it (durably) until then
                start_delay=timedelta(seconds=start_delay) if start_delay > 0 else None,
                request_eager_start=self._settings.eager_workflow_start and start_delay <= 0,
                priority=run_priority(run, target.priority, fair=self._settings.temporal_fairness),
            )
        except WorkflowAlreadyStartedError as exc:
            return StartedRun(run.execution_id, target.workflow_id, target.version, temporal_id, exc.run_id)
        except RPCError as exc:
            await self.rows.mark_failed_to_start(run.execution_id, f"could not start the run: {exc.message}")
            if names_a_missing_search_attribute(exc):
                try:
                    missing = await missing_search_attributes(self._client)
                except RPCError:  # not allowed to list them: name all of Baton's
                    missing = []
                refused = SearchAttributesMissing(
                    self._client.namespace, missing or sorted(SEARCH_ATTRIBUTES)
                )
                raise ServiceUnavailable(f"cannot start runs: {refused}") from exc
            raise
        return StartedRun(
            run.execution_id, target.workflow_id, target.version, temporal_id, handle.first_execution_run_id
        )

    async def start_manual(
        self, workflow_id: str, payload: Any, *, draft: bool = False, idempotency_key: str | None = None
    ) -> StartedRun:
        """A run started by hand (the API's `POST .../execute`): of the published version, or with `draft`
        of the workflow as saved (a test run). The same `idempotency_key` on the same workflow answers the
        run the first call started and starts nothing."""
        target = await (self.draft(workflow_id) if draft else self.published_version(workflow_id))
        config = target.definition.get("triggerConfig")
        if isinstance(config, dict) and (problem := payload_problem(config.get("inputSchema"), payload)):
            where, why = problem
            raise InvalidInput(
                f"the payload does not fit the trigger's inputSchema: {why}",
                path=f"payload.{where}" if where else "payload",
            )
        keyed = execution_id_for_key(workflow_id, idempotency_key) if idempotency_key is not None else None
        return await self.start(
            StartRequest(
                target,
                payload,
                trigger_type="MANUAL",
                test=draft,
                execution_id=keyed,
                idempotent=keyed is not None,
            )
        )

    async def _max_executions(self, workspace_id: str) -> int:
        now = time.monotonic()
        cached = _plan_cache.get(workspace_id)
        if cached is not None and now - cached[0] < PLAN_CACHE_SECONDS:
            return cached[1]
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(WORKSPACES.c.max_executions).where(WORKSPACES.c.id == workspace_id)
                )
            ).first()
        if row is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        _plan_cache[workspace_id] = (now, int(row.max_executions))
        return int(row.max_executions)


class RunUseCase:
    """What the use cases of a run beside its start (core.runs.control, core.runs.replays) are built with."""

    def __init__(
        self, engine: AsyncEngine, client: Client, settings: Settings, rows: ExecutionRows, starts: RunStarts
    ) -> None:
        self._engine = engine
        self.rows = rows
        self._client = client
        self._settings = settings
        self._starts = starts
