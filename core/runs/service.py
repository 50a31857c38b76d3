"""Runs as the API and the worker's activities reach them: one object on this process's servers, made of
the three concerns, each in its own module:

- core.runs.starts: what to run and starting it (`StartRequest`), the quota, the PENDING row;
- core.runs.control: a run under way (decide, pause/unpause, cancel, the sync webhook's reply);
- core.runs.replays: retry, resume, and both in bulk;
- core.runs.events: an event handed to the runs waiting for it.

A webhook call's debounce is the triggers' (core.triggers.debounce). The operations are the concerns' own
methods, bound here, so a caller holding a RunService and one holding a concern call the same code.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from core.quotas import ExecutionQuota
from core.runs.control import RunControl
from core.runs.events import RunEvents
from core.runs.replays import RunReplays
from core.runs.rows import ExecutionRows
from core.runs.starts import RunStarts, WorkflowCache
from core.settings import Settings


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
        self.client = client
        self.settings = settings
        self.rows = ExecutionRows(engine, pool)
        self.starts = RunStarts(engine, client, settings, self.rows, quota, cache)
        self.control = RunControl(engine, client, settings, self.rows, self.starts)
        self.replays = RunReplays(engine, client, settings, self.rows, self.starts)
        self.events = RunEvents(engine, client, settings, self.rows, self.starts)
        self.published_version = self.starts.published_version
        self.draft = self.starts.draft
        self.prepare = self.starts.prepare
        self.start = self.starts.start
        self.start_manual = self.starts.start_manual
        self.handle = self.control.handle
        self.decide = self.control.decide
        self.reply = self.control.reply
        self.pause = self.control.pause
        self.unpause = self.control.unpause
        self.cancel = self.control.cancel
        self.retry = self.replays.retry
        self.resume = self.replays.resume
        self.replay_in_bulk = self.replays.replay_in_bulk
        self.batch = self.replays.batch
