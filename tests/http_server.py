"""A local HTTP server whose answers each test scripts, standing in for third-party APIs on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 that records every request and answers what `answer` says."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.lock = threading.RLock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                seen = Seen(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    dict(self.headers),
                    self.rfile.read(length),
                    time.monotonic(),
                )
                with server.lock:
                    server.requests.append(seen)
                    reply = server.answer(seen)
                raw = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else (
                        reply.body.encode()
                        if isinstance(reply.body, str)
                        else json.dumps(reply.body).encode()
                    )
                )
                content_type = "text/plain" if isinstance(reply.body, str | bytes) else "application/json"
                self.send_response(reply.status)
                self.send_header("content-type", reply.headers.get("content-type", content_type))
                for name, value in reply.headers.items():
                    if name.lower() != "content-type":
                        self.send_header(name, value)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815

            def log_message(self, *_: Any) -> None:  # silence the access log
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, seen: Seen) -> Reply:
        raise NotImplementedError

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ScriptedServer(LocalServer):
    """Answers `path` with the next scripted reply (the last one repeats) and records every request."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        queue = self.replies.get(seen.path) or [Reply(404, {"error": "no such path"})]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def script(self, path: str, *replies: Reply) -> str:
        self.replies[path] = list(replies)
        return self.base_url + path


class EchoServer(LocalServer):
    """Answers every request with what it received (like httpbin's /anything): a service that echoes."""

    def answer(self, seen: Seen) -> Reply:
        return Reply(
            200,
            {
                "method": seen.method,
                "path": seen.path,
                "query": seen.query,
                "headers": seen.headers,
                "body": seen.body.decode(errors="replace"),
            },
        )


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)


def serving(make: Callable[[], S]) -> Callable[..., Iterator[S]]:
    """A test's local service as a fixture (named after the module attribute it is assigned to):
    `slack_api = serving(lambda: SlackAPI({TOKEN}))` starts one per test and closes it after."""

    def service() -> Iterator[S]:
        running = make()
        yield running
        running.close()

    return pytest.fixture(service)
