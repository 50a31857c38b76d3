"""Files stream: a 50 MB file through download -> upload in one run, and what it costs the worker's memory.
Prints figures (not a test): `.venv/bin/python -m bench.files [--mb 50]`.

Starts `baton dev --split` (the worker its own process, so its RSS is the worker's alone) with its blob store
in the data folder, and a local HTTP server in this process that serves the file in 64 KiB chunks and
takes the upload, hashing it as it arrives. One sync-webhook workflow: `http.request` downloads the file
(`responseFormat: file`), a second `http.request` PUTs it (`file`), `respond` answers. A small file goes
through first (imports, connections, caches: the baseline is the worker warmed up), then the large one
while the worker's RSS is sampled every 10 ms: growth = peak RSS during the run - RSS just before it.
Target: growth < 2x the file's size."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bench.common import Api
from bench.stack import dev_stack

CHUNK = 64 * 1024


class FileServer:
    """Serves `/file/<bytes>` (a deterministic pattern, sent in chunks) and takes `/sink` uploads."""

    def __init__(self) -> None:
        self.received: list[tuple[int, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                size = int(self.path.rsplit("/", 1)[-1])
                self.send_response(200)
                self.send_header("content-type", "application/octet-stream")
                self.send_header("content-length", str(size))
                self.send_header("content-disposition", 'attachment; filename="big.bin"')
                self.end_headers()
                for chunk in pattern(size):
                    self.wfile.write(chunk)

            def do_PUT(self) -> None:  # noqa: N802
                left = int(self.headers.get("content-length") or 0)
                digest = hashlib.sha256()
                total = 0
                while left:
                    chunk = self.rfile.read(min(CHUNK, left))
                    if not chunk:
                        break
                    digest.update(chunk)
                    total += len(chunk)
                    left -= len(chunk)
                server.received.append((total, digest.hexdigest()))
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


def pattern(size: int) -> Any:
    block = hashlib.sha256(b"baton").digest() * (CHUNK // 32)
    sent = 0
    while sent < size:
        part = block[: min(CHUNK, size - sent)]
        sent += len(part)
        yield part


def pattern_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in pattern(size):
        digest.update(chunk)
    return digest.hexdigest()


class Sampler:
    """The peak RSS of a process, sampled every 10 ms in a thread."""

    def __init__(self, process: Any) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def run_once(client: httpx.AsyncClient, token: str, files: FileServer, size: int) -> float:
    started = time.perf_counter()
    answer = await client.post(f"/hooks/{token}", json={"size": size}, timeout=600)
    if answer.status_code != 200:
        raise SystemExit(f"the run did not answer 200: {answer.status_code} {answer.text[:500]}")
    elapsed = time.perf_counter() - started
    got = answer.json()
    if got.get("size") != size or got.get("sha256") != pattern_sha256(size):
        raise SystemExit(f"the run's file is not the file served: {got}")
    if files.received[-1] != (size, got["sha256"]):
        raise SystemExit(f"the upload is not the file: {files.received[-1]}")
    return elapsed


async def measure(megabytes: int) -> None:
    files = FileServer()
    size = megabytes * 1_000_000
    steps = [
        {
            "id": "fetch",
            "type": "action",
            "action": "http.request",
            "input": {"url": f"{files.base_url}/file/{{{{ trigger.body.size }}}}", "responseFormat": "file"},
        },
        {
            "id": "send",
            "type": "action",
            "action": "http.request",
            "input": {
                "method": "PUT",
                "url": f"{files.base_url}/sink",
                "file": "{{ steps.fetch.output.file }}",
            },
        },
        {
            "id": "reply",
            "type": "respond",
            "body": {
                "size": "{{ steps.fetch.output.file.size }}",
                "sha256": "{{ steps.fetch.output.file.sha256 }}",
            },
        },
    ]
    with dev_stack(split=True) as stack:
        async with httpx.AsyncClient(base_url=stack.api, timeout=60) as client:
            api = Api(client)
            await api.sign_up()
            trigger = {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 300}
            _, token = await api.publish("files", trigger, steps)
            worker = stack.processes["worker"]
            await run_once(client, token, files, 1_000_000)  # warm-up: a 1 MB file
            await asyncio.sleep(1)
            baseline = worker.memory_info().rss
            with Sampler(worker) as sampler:
                elapsed = await run_once(client, token, files, size)
            growth = sampler.peak - baseline
    files.close()
    ratio = growth / size
    verdict = "MET" if ratio < 2 else "MISSED"
    print(
        f"file {size / 1e6:.0f} MB download -> upload in one run: {elapsed:.2f} s; worker RSS before "
        f"{baseline / 2**20:.0f} MiB (baseline, after a 1 MB warm-up run), peak {sampler.peak / 2**20:.0f} "
        f"MiB, growth {growth / 2**20:.1f} MiB = {ratio:.2f}x the file (target < 2x: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="the file's size in MB (default 50)")
    asyncio.run(measure(parser.parse_args().mb))


if __name__ == "__main__":
    main()
