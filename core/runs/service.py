"""Starting, cancelling, retrying and resuming runs: the service the API (and triggers) call.

A run is a Temporal workflow `run-{executionId}` of type BatonRun, started by name (the API never imports
the worker). The WorkflowExecution row is written first (PENDING) so the id exists before the run does;
the row's `context` keeps what later operations need (version, trigger type, Temporal ids).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import Priority, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.contract import (
    AWAIT_RESPONSE_UPDATE,
    CURRENT_ENGINE,
    DEBOUNCE_SIGNAL,
    DEBOUNCE_WORKFLOW,
    DECIDE_UPDATE,
    DELIVER_UPDATE,
    PAUSE_SIGNAL,
    UNPAUSE_SIGNAL,
    BatchRequest,
    DebouncedEvent,
    DebounceStart,
    Decision,
    PauseRequest,
    RunInput,
    RunResult,
    Unpause,
    debounce_workflow_id,
    run_workflow_id,
    run_workflow_type,
    step_ids_in_order,
)
from core.errors import (
    BatonError,
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    ServiceUnavailable,
)
from core.models import (
    ExecutionStatus,
)
from core.models.enums import OPEN_STATUSES
from core.models.tables import WORKFLOWS, WORKSPACES
from core.outages import best_effort
from core.quotas import ExecutionQuota
from core.redis_keys import RedisKeys
from core.runs.batches import (
    ReplayFilter,
    batch_progress,
    count_matching,
    matching_ids,
    start_batch,
)
from core.runs.handles import cancel_run, run_details, run_priority, run_search_attributes, run_summary
from core.runs.rows import ExecutionRows
from core.runs.unpausing import why_not_paused
from core.runs.waits import Delivery
from core.settings import Settings
from core.temporal import (
    SEARCH_ATTRIBUTES,
    SearchAttributesMissing,
    missing_search_attributes,
    names_a_missing_search_attribute,
)
from core.triggers.throttle import throttle_key
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


# `resume(trigger_data=...)` left out: the failed run's trigger data
UNCHANGED: Any = object()
RETRYABLE = {ExecutionStatus.FAILED.value, ExecutionStatus.TIMEOUT.value, ExecutionStatus.CANCELLED.value}


WORKFLOW_CACHE_SECONDS = 300


@dataclass(frozen=True)
class WorkflowCache:
    redis: Redis
    keys: RedisKeys

    async def forget(self, workflow_id: str) -> None:
        await self.redis.delete(self.keys.workflow_cache(workflow_id))


class InvalidIdempotencyKey(BatonError):
    status_code = 400
    kind = "invalid_body"


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


@dataclass(frozen=True)
class SyncReply:
    kind: str  # respond | finished | failed | pending
    response: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None


class RunService:
    def __init__(
        self,
        engine: AsyncEngine,
        client: Client,
        settings: Settings,
        quota: ExecutionQuota | None = None,
        cache: WorkflowCache | None = None,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self._engine = engine
        self.rows = ExecutionRows(engine, pool)
        self._client = client
        self._settings = settings
        self._quota = quota
        self._cache = cache

    # ------------------------------------------------------------------ reading what to run

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

    # ------------------------------------------------------------------ operations

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
            workflow_name=target.name,
            engine=CURRENT_ENGINE,
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

    async def replay_in_bulk(
        self,
        workspace_id: str,
        action: str,
        chosen: ReplayFilter,
        limit: int,
        *,
        latest_version: bool = False,
        dry_run: bool = False,
        requested_by: str | None = None,
    ) -> dict[str, Any]:
        """Retries or resumes the runs that match (core.runs.batches): with `dry_run`, how many match and
        which would be replayed; else the batch started, with its progress (nothing done yet)."""
        async with self._engine.connect() as connection:
            matched = await count_matching(connection, workspace_id, chosen)
            ids = await matching_ids(connection, workspace_id, chosen, limit)
        answer: dict[str, Any] = {"action": action, "matched": matched, "total": len(ids), "done": 0}
        if dry_run:
            return {**answer, "status": "DRY_RUN", "batchId": None, "executionIds": ids[:50]}
        batch_id = str(uuid.uuid4())
        request = BatchRequest(batch_id, workspace_id, action, ids, latest_version, requested_by)
        await start_batch(self._client, self._settings.temporal_task_queue, request)
        return {**answer, "status": "RUNNING", "batchId": batch_id, "started": 0, "skipped": 0}

    async def batch(self, workspace_id: str, batch_id: str) -> dict[str, Any]:
        return await batch_progress(self._client, workspace_id, batch_id)

    async def debounce(
        self, workflow_id: str, workspace_id: str, config: dict[str, Any], trigger: Any
    ) -> str:
        """Hands a debounced webhook call to its key's BatonDebounce (started by this call when none holds
        a burst of the key): one run for the burst, with the last call's trigger, `seconds` after the last
        call. The debouncer's workflow id (one per workflow and key)."""
        key = throttle_key(config, trigger)  # the rendered `key`, hashed ("" without one)
        debouncer = debounce_workflow_id(workflow_id, key)
        await self._client.start_workflow(
            DEBOUNCE_WORKFLOW,
            DebounceStart(workflow_id, key, float(config["seconds"])),
            id=debouncer,
            task_queue=self._settings.temporal_task_queue,
            start_signal=DEBOUNCE_SIGNAL,
            start_signal_args=[DebouncedEvent(trigger, datetime.now(UTC).isoformat())],
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"debounces calls of workflow {workflow_id} ({config['seconds']:g} s of quiet)",
            priority=Priority(fairness_key=workspace_id if self._settings.temporal_fairness else None),
        )
        return debouncer

    async def decide(
        self, execution_id: str, decision: Decision, idempotency_key: str | None = None
    ) -> dict[str, object]:
        """Hands an approval decision to the run and answers its outcome. Conflict (409) when the run
        refuses it (not waiting, not an approver, already decided) or is not running; ServiceUnavailable
        (503) when no worker takes it within DECISION_TIMEOUT_SECONDS. The same `idempotency_key` is the
        same decision: Temporal keeps one outcome per update id and run."""
        timeout = self._settings.decision_timeout_seconds  # a busy worker, a run replayed from its history
        update_id = f"decision:{decision.step_id}:{idempotency_key}" if idempotency_key else None
        try:
            try:
                answer: dict[str, object] = await self.handle(execution_id).execute_update(
                    DELIVER_UPDATE,
                    Delivery(decision.step_id, decision=decision),
                    id=update_id,
                    result_type=dict,
                    rpc_timeout=timedelta(seconds=timeout),
                )
            except WorkflowUpdateFailedError as exc:
                if "expected but not found" not in str(exc.cause):
                    raise
                # a worker of the version before `deliver` (during an upgrade) takes decisions as `decide`
                answer = await self.handle(execution_id).execute_update(
                    DECIDE_UPDATE,
                    decision,
                    id=update_id,
                    result_type=dict,
                    rpc_timeout=timedelta(seconds=timeout),
                )
        except WorkflowUpdateFailedError as exc:
            raise Conflict(
                str(exc.cause) if exc.cause else "the decision was refused", path="stepId"
            ) from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise ServiceUnavailable(
                f"no worker took the decision within {timeout:g} s (is `baton worker` running?); "
                "Temporal may still hand it to the run when a worker comes: send it again with the same "
                "Idempotency-Key to get its outcome (without one, a step already decided answers 409)"
            ) from exc
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise Conflict(
                    f"execution {execution_id} is not running; it cannot take decisions ({exc.message})"
                ) from exc
            raise
        return answer

    def handle(self, execution_id: str) -> WorkflowHandle[Any, RunResult]:
        return self._client.get_workflow_handle(run_workflow_id(execution_id), result_type=RunResult)

    async def reply(self, execution_id: str, timeout: float, *, early: bool = True) -> SyncReply:
        """What a sync webhook answers: the `respond` step's reply as soon as the run gives one, else the
        run's result when it ends; `pending` once `timeout` passes (the run carries on).

        `early=False` (no respond step before the last one: see `responds_before_the_end`) only waits for
        the result, which carries the reply: no update round trip through the worker."""
        handle = self.handle(execution_id)
        deadline = asyncio.get_running_loop().time() + timeout
        if early:
            try:
                response = await asyncio.wait_for(
                    handle.execute_update(AWAIT_RESPONSE_UPDATE, result_type=dict), timeout
                )
                return SyncReply("respond", response=response)
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                return SyncReply("pending")
            except (WorkflowUpdateFailedError, RPCError):
                pass  # the run ended without a `respond` step: answer with its result
        try:
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.1)
            result = await asyncio.wait_for(handle.result(), remaining)
        except TimeoutError:
            return SyncReply("pending")
        except WorkflowFailureError as exc:
            return SyncReply("failed", error=str(exc.cause) if exc.cause else str(exc))
        if result.response is not None:
            return SyncReply("respond", response=result.response)
        return SyncReply("finished", result=result.result)

    async def pause(self, execution_id: str, by: str | None, reason: str | None = None) -> None:
        """Asks the run to park before its next step (the steps under way finish first): `live` then shows
        the step it waits before, `{"kind": "waiting", "for": "pause"}`. 409 when it has ended."""
        execution = await self.rows.get(execution_id)
        await self._signal_open(execution, PAUSE_SIGNAL, PauseRequest(by, reason), "paused")

    async def unpause(
        self,
        execution_id: str,
        by: str | None,
        *,
        step_input: Any = None,
        give_up: bool = False,
        latest_version: bool = False,
    ) -> None:
        """Lets a paused run go on; a step parked by onError "pause" is tried again (with `step_input`
        instead of its rendered input when given; with `latest_version`, from that step on the workflow's
        latest published version, in the same execution) or, with `give_up`, fails as "fail" would. 409
        naming what the run waits for when it is neither paused nor parked (core.runs.unpausing)."""
        execution = await self.rows.get(execution_id)
        if latest_version:
            await self.published_version(execution.workflow_id)  # 404 when there is none
        if execution.status in OPEN_STATUSES and (
            reason := await why_not_paused(self._engine, self.handle(execution_id), execution_id)
        ):
            raise Conflict(reason)
        fix = Unpause(by, step_input, give_up, latest_version)
        await self._signal_open(execution, UNPAUSE_SIGNAL, fix, "unpaused")

    async def _signal_open(self, execution: Any, signal: str, argument: Any, what: str) -> None:
        if execution.status not in OPEN_STATUSES:
            raise Conflict(
                f"execution {execution.id} is {execution.status}; only a running one can be {what}"
            )
        try:
            await self.handle(execution.id).signal(signal, argument)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Conflict(f"execution {execution.id} is not running ({exc.message})") from exc
            raise

    async def cancel(self, execution_id: str) -> None:
        execution = await self.rows.get(execution_id)
        if execution.status not in OPEN_STATUSES:
            raise Conflict(
                f"execution {execution_id} is {execution.status}; only running executions can be cancelled"
            )
        await cancel_run(
            self._client,
            execution_id,
            task_queue=self._settings.temporal_task_queue,
            grace_seconds=self._settings.cancel_grace_seconds,
        )

    async def retry(self, execution_id: str, *, new_execution_id: str | None = None) -> StartedRun:
        """A new run of the same version and trigger data; `retryCount` counts up to `maxRetries`
        (`new_execution_id`: a repeatable retry, as a bulk retry's)."""
        execution = await self.rows.get(execution_id)
        self._require_retryable(execution)
        if execution.retry_count >= execution.max_retries:
            raise LimitExceeded(
                f"execution {execution_id} was already retried {execution.retry_count} times "
                f"(maxRetries is {execution.max_retries})"
            )
        target = await self.published_version(execution.workflow_id, (execution.context or {}).get("version"))
        return await self.start(
            StartRequest(
                target,
                execution.trigger_data,
                trigger_type=(execution.context or {}).get("triggerType"),
                retry_count=execution.retry_count + 1,
                execution_id=new_execution_id,
                idempotent=new_execution_id is not None,
            )
        )

    async def resume(
        self,
        execution_id: str,
        *,
        latest_version: bool = False,
        from_step: str | None = None,
        trigger_data: Any = UNCHANGED,
        step_outputs: dict[str, Any] | None = None,
        new_execution_id: str | None = None,
    ) -> StartedRun:
        """A new run that reuses the outputs of the steps that succeeded and starts at the one that failed;
        or, with `from_step`, at that step (it and every step after it in the definition run again). The
        trigger data and the reused outputs of steps before it may be replaced (`trigger_data`,
        `step_outputs`: a fix for what an earlier step got wrong). `new_execution_id` makes a resume
        repeatable (a bulk resume retried starts nothing more)."""
        execution = await self.rows.get(execution_id)
        self._require_retryable(execution)
        version = None if latest_version else (execution.context or {}).get("version")
        target = await self.published_version(execution.workflow_id, version)
        reused = await self.rows.succeeded_outputs(execution_id)
        order = step_ids_in_order(target.definition.get("steps", []))
        if from_step is not None:
            if from_step not in order:
                raise InvalidInput(
                    f"no step {from_step!r} in version {target.version} of the workflow", path="fromStep"
                )
            again = set(order[order.index(from_step) :])
            reused = {step: output for step, output in reused.items() if step not in again}
        for step, output in (step_outputs or {}).items():
            if step not in order:
                raise InvalidInput(
                    f"no step {step!r} in version {target.version}", path=f"stepOutputs.{step}"
                )
            if from_step is not None and step in again:
                raise InvalidInput(
                    f"step {step!r} runs again from {from_step!r}: its output cannot be given",
                    path=f"stepOutputs.{step}",
                )
            reused[step] = output
        return await self.start(
            StartRequest(
                target,
                execution.trigger_data if trigger_data is UNCHANGED else trigger_data,
                trigger_type=(execution.context or {}).get("triggerType"),
                retry_count=execution.retry_count,
                reused_outputs=reused,
                resumed_from=execution_id,
                execution_id=new_execution_id,
                idempotent=new_execution_id is not None,
            )
        )

    # ------------------------------------------------------------------ helpers

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

    @staticmethod
    def _require_retryable(execution: Any) -> None:
        if execution.status not in RETRYABLE:
            raise Conflict(
                f"execution {execution.id} is {execution.status}; only failed, timed-out or cancelled "
                "executions can be retried or resumed"
            )
