"""The worker process: connects to Temporal and serves Baton's task queue until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from datetime import timedelta

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.actions import ActionActivities
from activities.approvals import ApprovalActivities
from activities.batches import BatchActivities
from activities.closing import RunClosing
from activities.connections import WorkerCredentials
from activities.maintenance import MaintenanceActivities
from activities.records import RecordActivities
from activities.triggers import TriggerActivities
from core.db import create_engine
from core.execution_profiles import DEFAULT, PROFILES, profile_named
from core.logstore import LogWriters, create_log_store
from core.ops.maintenance import ensure_maintenance_schedule
from core.outbound import outbound_client, policy_for
from core.redis_keys import create_redis
from core.runs import RunService
from core.runs.alerts import FailureAlerts
from core.runs.approval_links import RunLinks
from core.runs.concurrency import ConcurrencySlots
from core.services import Services
from core.settings import Settings
from core.temporal import connect_temporal
from core.triggers.arming import TriggerArming
from integrations.catalogue import oauth_endpoints
from integrations.openapi.imports import load_imported_services
from worker.batches import BatonBatch
from worker.closing import BatonCancel
from worker.debounce import BatonDebounce
from worker.interpreter import BatonRun
from worker.maintenance import BatonMaintenance
from worker.named_runs import NamedBatonRun
from worker.reconciler import ClosedRunsReconciler
from worker.triggers import BatonPoller, BatonScheduledRun

logger = logging.getLogger("baton.worker")

# Pure, deterministic modules the interpreter uses: loaded once, shared with the sandbox instead of
# re-imported per workflow run (jinja2 must be: its LRU cache holds a threading.Lock the sandbox refuses).
# The I/O libraries are never called by workflow code, but their objects' finalizers may run on a workflow
# thread during garbage collection and import lazily; passing them through keeps that out of the sandbox.
PASSTHROUGH_MODULES = (
    "jinja2",
    "markupsafe",
    "pydantic",
    "core",
    "worker.run_scope",
    "redis",
    "hiredis",
    "orjson",
    "asyncpg",
    "sqlalchemy",
    "httpx",
    "cryptography",
    "opentelemetry",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_worker(
    client: Client,
    settings: Settings,
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    *,
    task_queue: str | None = None,
    writers: LogWriters | None = None,
) -> Worker:
    """Lists, explicitly, what this worker hosts."""
    services = worker_services(settings, engine, redis)
    queue = task_queue or settings.temporal_task_queue
    runs = services.runs(client, task_queue=queue)
    records = record_activities(client, services, runs, writers)
    credentials = connection_loader(settings, engine, redis, http)
    actions = action_activities(services, http, records, credentials, writers)
    triggers = TriggerActivities(engine, redis, services.keys, runs, http, credentials, settings)
    maintenance = MaintenanceActivities(
        engine, writers.store if writers else create_log_store(settings, engine), settings
    )
    return Worker(
        client,
        task_queue=queue,
        workflows=[
            BatonRun,
            BatonScheduledRun,
            BatonPoller,
            BatonMaintenance,
            BatonDebounce,
            BatonBatch,
            BatonCancel,
            NamedBatonRun,
        ],
        activities=[
            *actions.activities(),
            *records.activities(),
            *triggers.activities(),
            *maintenance.activities(),
            *ApprovalActivities(settings).activities(),
            *BatchActivities(runs).activities(),
            *RunClosing(client, engine, records).activities(),
        ],
        workflow_runner=workflow_runner(),
        max_cached_workflows=settings.worker_max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.worker_sticky_timeout_seconds),
        max_concurrent_workflow_task_polls=settings.worker_workflow_task_polls,
        nonsticky_to_sticky_poll_ratio=settings.worker_nonsticky_poll_ratio,
    )


def worker_services(settings: Settings, engine: AsyncEngine, redis: Redis) -> Services:
    """The services the worker's activities use, built as the API builds its own (core.services)."""
    return Services(settings, engine, redis, oauth_endpoints)


def action_activities(
    services: Services,
    http: httpx.AsyncClient,
    records: RecordActivities,
    credentials: WorkerCredentials,
    writers: LogWriters | None,
) -> ActionActivities:
    settings = services.settings
    return ActionActivities(
        http,
        records,
        credentials,
        redis=services.redis,
        keys=services.keys,
        usage=writers.usage if writers else None,
        base_urls=settings.integration_base_urls,
        approval_links=RunLinks(settings.secret_key, settings.public_base_url, None, {}),
        settings=settings,
    )


# The longest Temporal's core holds an activity's newest heartbeat before sending it
HEARTBEAT_THROTTLE = timedelta(seconds=2)


def build_workers(
    client: Client,
    settings: Settings,
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    *,
    profiles: Collection[str] | None = None,
    task_queue: str | None = None,
    writers: LogWriters | None = None,
) -> list[Worker]:
    """One worker per execution profile served (None: all of them). `default` is Baton's own queue: the
    workflows, every other activity and the actions of the default profile; any other profile's worker
    polls its own queue (`baton-long`) for its actions' activities only, so a process started without a
    profile never takes them."""
    wanted = list(PROFILES) if profiles is None else [profile_named(name).name for name in profiles]
    queue = task_queue or settings.temporal_task_queue
    workers = []
    if DEFAULT.name in wanted:
        workers.append(build_worker(client, settings, http, engine, redis, task_queue=queue, writers=writers))
    others = [PROFILES[name] for name in wanted if name != DEFAULT.name]
    if others:
        services = worker_services(settings, engine, redis)
        records = record_activities(client, services, services.runs(client, task_queue=queue), writers)
        credentials = connection_loader(settings, engine, redis, http)
        actions = action_activities(services, http, records, credentials, writers)
        for profile in others:
            served = actions.activities(profile.name)
            if served:  # a queue no action uses needs no poller
                workers.append(
                    Worker(
                        client,
                        task_queue=profile.task_queue(queue),
                        activities=served,
                        # what an attempt heartbeats reaches Temporal within seconds (not 0.8 of the
                        # heartbeat timeout): a retry after a worker crash resumes from recent details
                        # (the page a paginated http.request had reached)
                        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
                    )
                )
    return workers


def record_activities(
    client: Client, services: Services, runs: RunService, writers: LogWriters | None
) -> RecordActivities:
    """The writers of run rows, with the failure alerts that start error workflows."""
    engine, redis, keys = services.engine, services.redis, services.keys

    async def run_service() -> RunService:
        return runs

    alerts = FailureAlerts(engine, redis, keys, services.settings, run_service)
    return RecordActivities(engine, redis, keys, writers, alerts, ConcurrencySlots(engine, client))


def closed_runs_reconciler(
    client: Client,
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    writers: LogWriters | None = None,
    *,
    task_queue: str | None = None,
) -> ClosedRunsReconciler:
    """The reconciler of runs closed behind Baton's back (worker.reconciler), writing as the worker does."""
    services = worker_services(settings, engine, redis)
    records = record_activities(client, services, services.runs(client, task_queue=task_queue), writers)
    return ClosedRunsReconciler(client, engine, redis, RunClosing(client, engine, records), settings)


def connection_loader(
    settings: Settings, engine: AsyncEngine, redis: Redis, http: httpx.AsyncClient
) -> WorkerCredentials:
    return worker_services(settings, engine, redis).credentials(
        http, kind=WorkerCredentials, cache_seconds=settings.credentials_cache_seconds
    )


def log_writers(settings: Settings, engine: AsyncEngine) -> LogWriters:
    """`integration_usage`, `execution_logs` and `analytics_events` documents, batched to one log store
    (run `run()` as a task)."""
    return LogWriters.to(create_log_store(settings, engine))


def trigger_arming(client: Client, settings: Settings, engine: AsyncEngine, redis: Redis) -> TriggerArming:
    return worker_services(settings, engine, redis).trigger_arming(client)


async def warm_up(engine: AsyncEngine, redis: Redis) -> None:
    """Connects to PostgreSQL and Redis before serving: fails fast when they are down, and loads the
    drivers' lazily imported modules before any workflow runs (the sandbox warns about late imports)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await redis.ping()
    await redis.publish("baton:warm-up", "")
    # services imported from OpenAPI documents: their actions are this worker's activities too
    await load_imported_services(engine)


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting Prometheus metrics on WORKER_METRICS_HOST:PORT (None when disabled or
    when the port cannot be bound: the worker runs on without metrics, and says so)."""
    if not settings.worker_metrics_port:
        return None
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
    try:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=address, durations_as_seconds=True)
            )
        )
    except Exception as exc:
        logger.error(
            "worker metrics are off: cannot serve them on %s (%s); set WORKER_METRICS_PORT", address, exc
        )
        return None
    logger.info("worker metrics on http://%s/metrics", address)
    return runtime


async def run_worker(
    settings: Settings, stop: asyncio.Event | None = None, profiles: Collection[str] | None = None
) -> bool:
    """Serves `profiles` (None: all) until `stop` is set; returns whether the worker stopped within
    WORKER_SHUTDOWN_SECONDS (when not, its shutdown is still waiting on a task: the caller should exit the
    process anyway)."""
    client = await connect_temporal(settings, timeout=30, runtime=metrics_runtime(settings))
    engine = create_engine(settings, pre_ping=False)
    redis = create_redis(settings)
    stopped: asyncio.Event | None = None
    try:
        async with serving_bounded(settings, client, engine, redis, profiles) as stopped:
            await (stop or asyncio.Event()).wait()
    finally:
        if stopped is None or stopped.is_set():  # else a task still holds them: the process leaves
            await redis.aclose()
            await engine.dispose()
    return stopped.is_set()


@contextlib.asynccontextmanager
async def serving_bounded(
    settings: Settings,
    client: Client,
    engine: AsyncEngine,
    redis: Redis,
    profiles: Collection[str] | None = None,
) -> AsyncIterator[asyncio.Event]:
    """`serving`, whose exit waits at most WORKER_SHUTDOWN_SECONDS: Temporal's core retries a failing local
    activity even after a shutdown began (a record write while PostgreSQL is out of reach), so the worker's
    own exit can wait for ever. The event it yields is set once the worker has stopped; when it is not after
    the block, the caller should leave the process (Temporal hands the runs to the next worker)."""
    stopped = asyncio.Event()
    ready = asyncio.Event()
    leave = asyncio.Event()

    async def serve() -> None:
        async with serving(settings, client, engine, redis, profiles):
            ready.set()
            await leave.wait()
        stopped.set()

    task = asyncio.ensure_future(serve())
    started = asyncio.ensure_future(ready.wait())
    await asyncio.wait([task, started], return_when=asyncio.FIRST_COMPLETED)
    started.cancel()
    if task.done():
        task.result()  # raises what kept it from serving
    try:
        yield stopped
    finally:
        leave.set()
        await asyncio.wait([task], timeout=settings.worker_shutdown_seconds)
        if task.done():
            task.result()
        else:
            logger.error(
                "the worker did not stop within %g s (WORKER_SHUTDOWN_SECONDS): a task of its is still "
                "running or retrying (a local activity failing while PostgreSQL or Redis is out of "
                "reach?); leaving it: Temporal hands its runs to the next worker",
                settings.worker_shutdown_seconds,
            )


@contextlib.asynccontextmanager
async def serving(
    settings: Settings,
    client: Client,
    engine: AsyncEngine,
    redis: Redis,
    profiles: Collection[str] | None = None,
) -> AsyncIterator[list[Worker]]:
    """Baton's workers polling the task queues of `profiles` (None: all, as `baton serve` and `baton dev`
    run them) on `client` while the block runs: log writers and, with the `default` profile, triggers
    reconciled with Temporal, the maintenance schedule armed. `baton worker` runs it alone; `baton serve`
    beside the API, on the API's own client (so the API's starts can be eager)."""
    writers = log_writers(settings, engine)
    writing = asyncio.ensure_future(writers.run())
    try:
        await warm_up(engine, redis)
        async with outbound_client(policy_for(settings), follow_redirects=True) as http:
            workers = build_workers(client, settings, http, engine, redis, profiles=profiles, writers=writers)
            queues = [worker.task_queue for worker in workers]
            if DEFAULT.task_queue(settings.temporal_task_queue) not in queues:
                # a worker of other profiles only: the duties of Baton's own queue are another's
                logger.info("worker serving task queues %s on %s", queues, settings.temporal_address)
                async with contextlib.AsyncExitStack() as stack:
                    for worker in workers:
                        await stack.enter_async_context(worker)
                    yield workers
                return
            try:
                synced = await trigger_arming(client, settings, engine, redis).reconcile()
                logger.info("reconciled the triggers of %d workflows with Temporal", len(synced))
            except Exception:
                logger.exception("could not reconcile triggers with Temporal; run `baton reconcile` later")
            try:
                done = await ensure_maintenance_schedule(client, settings)
                logger.info("maintenance schedule %s (%s UTC)", done, settings.retention_cron)
            except Exception:
                logger.exception("could not arm the maintenance schedule; retention will not run by itself")
            logger.info("worker serving task queues %s on %s", queues, settings.temporal_address)
            reconciling = asyncio.ensure_future(
                closed_runs_reconciler(client, settings, engine, redis, writers).run()
            )
            try:
                async with contextlib.AsyncExitStack() as stack:
                    for worker in workers:
                        await stack.enter_async_context(worker)
                    yield workers
            finally:
                reconciling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reconciling
    finally:
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
