"""What the blocking client stands on: a Portal (an event loop in a thread of its own) that runs the async
client's calls for the calling thread, and `blocking(resource)`, which derives a blocking resource class
from an async one when the module is imported.

Why derived at import rather than generated into files: each endpoint was written three times (the route,
the async method, a generated blocking twin); now the async method is the one description and the blocking
method is made from it. Each derived method carries the async one's real `__signature__` (its return
annotation turned from AsyncIterator[X] into Iterator[X] for streams), docstring, name and annotations, so
help(), pydoc and inspect (and so Jupyter and IDEs that introspect live objects) show its parameters.
The trade-off: static type checkers cannot map `async def f(...) -> T` to `def f(...) -> T`, so mypy and
editors that only read source see the blocking resources' methods as returning Any. Typed code that wants
static checking of answers uses AsyncClient; the blocking client stays for scripts and notebooks, where
help() is what is read.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import typing
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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

    if TYPE_CHECKING:  # the methods are made by `blocking` (see the module docstring)

        def __getattr__(self, name: str) -> Any: ...


def blocking(resource: type[R]) -> type[Blocking[R]]:
    """The blocking twin of an async resource class: each public method runs the async one on the portal
    (a stream, one answering AsyncIterator[X], answers an Iterator[X])."""
    methods = {
        name: _blocking_method(name, method)
        for name, method in vars(resource).items()
        if not name.startswith("_") and inspect.isfunction(method)
    }
    doc = {"__doc__": resource.__doc__, "__module__": resource.__module__}
    return type(resource.__name__, (Blocking,), doc | methods)


def _blocking_method(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)
    answer = signature.return_annotation
    streams = typing.get_origin(answer) is AsyncIterator
    if streams:
        answer = Iterator[typing.get_args(answer)[0]]  # type: ignore[misc]

    @functools.wraps(method)
    def call(self: Blocking[Any], *args: Any, **kwargs: Any) -> Any:
        work = getattr(self._inner, name)(*args, **kwargs)
        return self._portal.iterate(work) if streams else self._portal.run(work)

    call.__signature__ = signature.replace(return_annotation=answer)  # type: ignore[attr-defined]
    call.__annotations__ = {**method.__annotations__, "return": answer}
    del call.__wrapped__  # inspect reads __signature__, not the coroutine function underneath
    return call
