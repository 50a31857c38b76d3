"""What the generated blocking resources stand on: a Portal (an event loop in a thread of its own) that
runs the async client's calls for the calling thread, and `Blocking`, the base each generated resource
derives from."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Portal:
    """An event loop in a daemon thread, running the async client's coroutines for the calling thread, so
    the blocking client works the same from a script, a notebook or a thread of a server running a loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="baton-client", daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self.run(anext_of(stream))
                except StopAsyncIteration:
                    return
        finally:
            closing = getattr(stream, "aclose", None)
            if closing is not None:
                self.run(closing())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


async def anext_of(stream: AsyncIterator[T]) -> T:
    return await stream.__anext__()


class Blocking(Generic[R]):
    """A resource of the blocking client: the async resource `inner`, its calls run on the portal."""

    def __init__(self, inner: R, portal: Portal) -> None:
        self._inner, self._portal = inner, portal
