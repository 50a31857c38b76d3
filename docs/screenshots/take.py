"""Takes the docs' screenshots of the Temporal Web UI: `baton dev` on a fresh data folder, one run parked on
an approval and one retrying its step, then headless Chromium on the UI's workflow list and on each run.

    .venv/bin/python docs/screenshots/take.py        # needs Debian's `chromium` (apt install chromium)

Writes docs/screenshots/*.png and prints what the API answered for both runs (the README quotes it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from the repo
from baton.embedded import free_port  # noqa: E402
from tests.browser import chromium_path, headless_page  # noqa: E402

HERE = Path(__file__).parent
PASSWORD = "correct horse battery staple 42!"


class Flaky(BaseHTTPRequestHandler):
    """A service that answers 503 to every call: the run retries its step."""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(503)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


def wait_for(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"{url} did not come up in {seconds:.0f} s")


async def _shoot(url: str, out: Path, settle: float) -> None:
    """Opens the page, lets the UI fetch and draw (it polls, so waiting for "loaded" never ends), captures."""
    async with headless_page() as page:
        await page.open(url)
        await asyncio.sleep(settle)
        out.write_bytes(await page.screenshot())
    print(f"wrote {out}")


def shoot(url: str, out: Path, settle: float = 12) -> None:
    asyncio.run(_shoot(url, out, settle))


def main() -> None:
    if chromium_path() is None:
        raise SystemExit("needs Chromium: apt install chromium")
    service = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    flaky_url = f"http://127.0.0.1:{service.server_address[1]}/profile"
    data = Path(tempfile.mkdtemp(prefix="baton-shots-"))
    api_port, ui_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEMPORAL_ADDRESS")}
    # the flaky service is on loopback: allow it, as an operator would for an internal service
    env["OUTBOUND_ALLOW"] = "127.0.0.1/32"
    dev = subprocess.Popen(
        [sys.executable, "-m", "baton", "dev", "--data-dir", str(data), "--port", str(api_port),
         "--temporal-ui-port", str(ui_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        api = f"http://127.0.0.1:{api_port}"
        wait_for(f"{api}/healthz")
        wait_for(f"http://127.0.0.1:{ui_port}/")
        http = httpx.Client(base_url=api, timeout=30)
        email = "ada@example.com"
        http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                 "firstName": "Ada", "lastName": "Lovelace"})  # fmt: skip
        token = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
        http.headers["Authorization"] = f"Bearer {token['accessToken']}"
        workspace = http.post("/api/v1/workspaces", json={"name": "Acme"}).json()["id"]
        base = f"/api/v1/workspaces/{workspace}"

        def publish(name: str, steps: list[dict[str, Any]]) -> str:
            created = http.post(
                f"{base}/workflows", json={"name": name, "triggerType": "MANUAL", "steps": steps}
            )
            created.raise_for_status()
            http.post(f"{base}/workflows/{created.json()['id']}/publish", json={}).raise_for_status()
            return str(created.json()["id"])

        greet = publish("Greet new signups", [
            {"id": "tier", "type": "set", "values": {"tier": "{{ trigger.tier }}"}},
            {"id": "gold", "type": "condition", "if": "{{ vars.tier == 'gold' }}",
             "then": [{"id": "welcome", "type": "set", "values": {"text": "Welcome, gold member"}}]},
            {"id": "approve", "type": "approval", "message": "Send the gold welcome?",
             "timeoutSeconds": 86400},
        ])  # fmt: skip
        sync = publish("Sync CRM profile", [
            {"id": "fetch", "name": "Fetch profile", "type": "action", "action": "http.request",
             "input": {"url": flaky_url},
             "retry": {"maxAttempts": 5, "initialIntervalSeconds": 20, "backoffCoefficient": 2}},
        ])  # fmt: skip
        waiting = http.post(f"{base}/workflows/{greet}/run", json={"payload": {"tier": "gold"}}).json()["id"]
        retrying = http.post(f"{base}/workflows/{sync}/run", json={"payload": {}}).json()["id"]
        time.sleep(5)
        answers = {
            name: http.get(f"{base}/executions/{execution}").json()
            for name, execution in (("waiting", waiting), ("retrying", retrying))
        }
        for name, answer in answers.items():
            print(f"--- GET .../executions/{{id}} ({name}): live and steps")
            print(json.dumps({"status": answer["status"], "live": answer["live"]}, indent=2))
        ui = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows"
        shoot(ui, HERE / "temporal-ui-list.png")
        for name, execution in (("waiting", waiting), ("retrying", retrying)):
            described = httpx.get(
                f"http://127.0.0.1:{ui_port}/api/v1/namespaces/default/workflows/run-{execution}", timeout=30
            ).json()
            run_id = described["workflowExecutionInfo"]["execution"]["runId"]
            page = f"{ui}/run-{execution}/{run_id}"
            shoot(f"{page}/history", HERE / f"temporal-ui-{name}-run.png")
            # summary, details and current details ("waiting for approval: ...", the trail of steps)
            shoot(f"{page}/user-metadata", HERE / f"temporal-ui-{name}-metadata.png")
    finally:
        dev.terminate()
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            dev.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
