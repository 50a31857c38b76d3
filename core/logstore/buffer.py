"""Writers that never wait on the store: bounded in-process buffers written in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from core.logstore.base import LogStore
from core.outages import raise_if_cancelled

logger = logging.getLogger("baton.logstore")


class BufferedWriter:
    """Batches documents for one store method; never blocks or fails the caller.

    Entries wait in a bounded deque; `run()` writes them every `interval` seconds (or sooner once `batch`
    are waiting). A failed write puts the batch back (oldest entries go first when the bound is reached);
    `dropped` counts what was lost and is logged.
    """

    def __init__(
        self,
        name: str,
        write: Any,
        *,
        interval: float = 1.0,
        batch: int = 500,
        bound: int = 20_000,
    ) -> None:
        self.name = name
        self._write = write
        self._interval = interval
        self._batch = batch
        self._pending: deque[dict[str, Any]] = deque(maxlen=bound)
        self._wake = asyncio.Event()
        self.dropped = 0
        self.written = 0

    def add(self, document: dict[str, Any]) -> None:
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1  # the deque drops its oldest entry
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                logger.error(
                    "%s: the log store is behind; %d entries dropped so far", self.name, self.dropped
                )
        self._pending.append(document)
        if len(self._pending) >= self._batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> bool:
        """Writes what is waiting; False when the store refused (the entries wait for the next flush)."""
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(self._batch, len(self._pending)))]
            try:
                await self._write(batch)
            except Exception as exc:
                room = (self._pending.maxlen or 0) - len(self._pending)
                self.dropped += max(0, len(batch) - room)  # the newest entries make way for older ones
                self._pending.extendleft(reversed(batch))
                raise_if_cancelled()  # the batch is back in line for the last flush
                logger.warning("%s: could not write %d entries (%s); will retry", self.name, len(batch), exc)
                return False
            self.written += len(batch)
        return True

    async def run(self) -> None:
        """Flushes until cancelled, then once more."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
                await self.flush()
                raise_if_cancelled()  # a cancel a store's client swallowed: the finally still flushes
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())


@dataclass
class LogWriters:
    """The worker's three buffered writers to one log store."""

    store: LogStore
    usage: BufferedWriter
    logs: BufferedWriter
    events: BufferedWriter

    @classmethod
    def to(cls, store: LogStore) -> LogWriters:
        return cls(
            store,
            BufferedWriter("integration_usage", store.write_usage),
            BufferedWriter("execution_logs", store.write_logs, interval=0.5),
            BufferedWriter("analytics_events", store.write_events),
        )

    async def run(self) -> None:
        """Runs every writer until cancelled (each flushes once more on the way out)."""
        await asyncio.gather(self.usage.run(), self.logs.run(), self.events.run())

    async def flush(self) -> None:
        for writer in (self.usage, self.logs, self.events):
            await writer.flush()
