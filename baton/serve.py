"""`baton serve`: the API and a worker in one process, sharing one Temporal client.

What it buys over `baton api` + `baton worker` (bench/run, 2 cores): a webhook's run is started eagerly (the
start call hands the run's first workflow task straight to this process's worker: no queue hand-off, ~30%
less Temporal CPU per run), one Python process's memory instead of two, and one pool of connections to
Redis. The worker has its own PostgreSQL pool, without the API's pre-ping: that ping (a BEGIN and a ROLLBACK
on each checkout) was two round trips before each of a run's record writes; as in `baton worker`, a write
that meets a dropped connection fails, the pool drops it, and Temporal tries the activity again.
Scale out with more `baton serve` processes, or with `baton api` and `baton worker` apart (docs/scaling.md):
every worker on the task queue still takes its share of the runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.app import create_app
from api.resources import Resources
from core.db import create_engine
from core.settings import Settings, get_settings
from core.temporal import connect_temporal
from worker.main import metrics_runtime, serving_bounded


def create_serving_app(settings: Settings | None = None) -> FastAPI:
    """The API with a worker beside it (uvicorn factory of `baton serve`)."""
    settings = (settings or get_settings()).model_copy(update={"eager_workflow_start": True})

    @asynccontextmanager
    async def worker_beside(resources: Resources) -> AsyncIterator[None]:
        client = await connect_temporal(settings, timeout=30, runtime=metrics_runtime(settings))
        resources.temporal.use(client)  # the API starts runs on the worker's client: eager starts
        engine = create_engine(settings, pre_ping=False)
        async with serving_bounded(settings, client, engine, resources.redis) as stopped:
            yield
        if stopped.is_set():
            await engine.dispose()
        else:
            # the worker's shutdown waits on a task that does not end (logged): leave, as `baton worker` does
            logging.shutdown()
            os._exit(1)

    return create_app(settings, companion=worker_beside)
