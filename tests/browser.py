"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol: open a page, evaluate script
in it, take a screenshot. For the tests of what a browser shows (/docs) and the docs' screenshots.

With `offline=True` every request leaves through a proxy that does not exist, except those to 127.0.0.1:
a page that needs the internet (a CDN, web fonts) fails to load what it needs, as it would on a machine
with no network."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets

from baton.embedded import free_port


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.calls = 0

    async def call(self, method: str, **params: Any) -> Any:
        self.calls += 1
        await self.ws.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            answer = json.loads(await self.ws.recv())
            if answer.get("id") == self.calls:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Evaluates `expression` until it is truthy (the page's scripts draw after "loaded")."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the page never made {expression!r} true")
            await asyncio.sleep(0.25)

    async def screenshot(self) -> bytes:
        shot = await self.call("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])


@contextlib.asynccontextmanager
async def headless_page(*, offline: bool = False, size: str = "1440,900") -> AsyncIterator[Page]:
    chromium = chromium_path()
    if chromium is None:
        raise RuntimeError("needs Chromium: apt install chromium")
    port = free_port()
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--hide-scrollbars", f"--window-size={size}", f"--remote-debugging-port={port}"]  # fmt: skip
    if offline:
        command += ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]
    browser = subprocess.Popen(
        [*command, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        pages: list[dict[str, Any]] = []
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(150):
                with contextlib.suppress(httpx.HTTPError):
                    pages = (await http.get(f"http://127.0.0.1:{port}/json")).json()
                    if any(p.get("type") == "page" for p in pages):
                        break
                await asyncio.sleep(0.2)
        target = next(p for p in pages if p.get("type") == "page")
        async with websockets.connect(target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024) as ws:
            yield Page(ws)
    finally:
        browser.kill()
        browser.wait()
