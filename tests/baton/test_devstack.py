"""`baton dev` starts the whole platform, stops every process it started, and keeps its data."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest
from google.protobuf import json_format
from redis.asyncio import Redis
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowExecutionStatus

from baton.embedded import free_port, port_is_free
from core.codec import EncryptionCodec

pytestmark = pytest.mark.slow

STACK_VARIABLES = ("DATABASE_URL", "REDIS_URL", "TEMPORAL_ADDRESS", "MONGODB_URL", "TEMPORAL_UI_URL")


@dataclass
class Ports:
    api: int
    postgres: int
    redis: int
    temporal: int
    ui: int

    def all(self) -> list[int]:
        return [self.api, self.postgres, self.redis, self.temporal, self.ui]


@pytest.fixture
def ports() -> Ports:
    return Ports(free_port(), free_port(), free_port(), free_port(), free_port())


class DevProcess:
    def __init__(self, data_dir: Path, ports: Ports, *extra: str, env: dict[str, str] | None = None) -> None:
        env = {**{k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}, **(env or {})}
        self.log = data_dir.parent / f"dev-{time.monotonic_ns()}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "baton",
                "dev",
                "--data-dir",
                str(data_dir),
                "--port",
                str(ports.api),
                "--postgres-port",
                str(ports.postgres),
                "--redis-port",
                str(ports.redis),
                "--temporal-port",
                str(ports.temporal),
                "--temporal-ui-port",
                str(ports.ui),
                *extra,
            ],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.descendants: list[psutil.Process] = []

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                self.descendants = psutil.Process(self.process.pid).children(recursive=True)
                return
            if self.process.poll() is not None:
                pytest.fail(f"baton dev exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"baton dev did not print {text!r} within {timeout}s:\n{self.output()}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        finally:
            self._log_file.close()

    def kill_everything(self) -> None:
        for process in [self.process, *self.descendants]:
            try:
                process.kill()
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass


@pytest.fixture
def dev() -> Iterator[list[DevProcess]]:
    started: list[DevProcess] = []
    yield started
    for process in started:  # only does anything when a test failed half-way
        process.kill_everything()


def _eventually_printed(process: DevProcess, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.output():
        assert time.monotonic() < deadline, f"never printed {text!r}:\n{process.output()}"
        time.sleep(0.2)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _assert_nothing_left(process: DevProcess, ports: Ports) -> None:
    leftovers = [p for p in process.descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes left behind: {[p.cmdline() for p in leftovers]}"
    assert all(port_is_free(port) for port in ports.all()), "a port is still held after stopping"


def _occupy(port: int) -> socket.socket:
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen()
    return blocker


async def test_baton_dev_runs_the_platform_stops_cleanly_and_keeps_its_data(
    tmp_path: Path, ports: Ports, dev: list[DevProcess]
) -> None:
    data_dir = tmp_path / "data"
    first = DevProcess(data_dir, ports, "--split")  # the API and the worker as two processes
    dev.append(first)
    first.wait_for("Press Ctrl-C to stop")
    output = first.output()
    commands = [" ".join(child.cmdline()) for child in psutil.Process(first.process.pid).children()]
    assert any("baton worker" in line for line in commands), commands
    assert any("baton api" in line for line in commands), commands
    assert f"Console      http://127.0.0.1:{ports.api}/" in output
    assert f"API docs     http://127.0.0.1:{ports.api}/docs" in output
    assert f"Temporal UI  http://127.0.0.1:{ports.ui}" in output

    status, body = _get(f"http://127.0.0.1:{ports.api}/readyz")
    assert status == 200, body
    _eventually_printed(first, " api     GET /readyz 200")  # the console: one line per request
    assert _get(f"http://127.0.0.1:{ports.ui}/")[0] == 200
    assert _get(f"http://127.0.0.1:{ports.api}/docs")[0] == 200
    assert _get(f"http://127.0.0.1:{ports.api}/")[0] == 200  # the console's page
    # its own random secret, kept for the next start; the Web UI decodes sealed payloads through the codec
    secret = data_dir / "secret_key"
    assert secret.stat().st_mode & 0o777 == 0o600
    kept_secret = secret.read_text()
    assert len(kept_secret) >= 40
    ui_settings = json.loads(_get(f"http://127.0.0.1:{ports.ui}/api/v1/settings")[1])
    assert ui_settings["Codec"]["Endpoint"] == f"http://127.0.0.1:{ports.api}/codec"  # served by the API
    sealed = await EncryptionCodec(kept_secret).encode([Payload(data=b"kept")])
    decoded = httpx.post(
        f"http://127.0.0.1:{ports.api}/codec/decode",
        content=json_format.MessageToJson(Payloads(payloads=sealed)),
        headers={"origin": f"http://127.0.0.1:{ports.ui}"},
    )
    assert decoded.status_code == 200, decoded.text
    assert json_format.Parse(decoded.content, Payloads()).payloads[0].data == b"kept"

    # Leave a mark in each store.
    database = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{ports.postgres}/baton")
    await database.execute("INSERT INTO workspaces (name, slug) VALUES ('Kept', 'kept')")
    await database.close()
    redis = Redis(port=ports.redis)
    await redis.set("baton-dev-test", "kept")
    await redis.aclose()
    temporal = await Client.connect(f"127.0.0.1:{ports.temporal}")
    # No worker serves this queue, so the run stays open: it must still be there after a restart.
    await temporal.start_workflow("Nobody", id="kept-run", task_queue="nobody-serves-this")

    assert first.stop(signal.SIGINT) == 0, first.output()
    assert "Stopped. Data kept in" in first.output()
    _assert_nothing_left(first, ports)

    second = DevProcess(data_dir, ports)
    dev.append(second)
    second.wait_for("Press Ctrl-C to stop")
    assert "integrations: 0 inserted, 0 updated" in second.output()  # the catalogue was already there
    assert secret.read_text() == kept_secret
    assert _get(f"http://127.0.0.1:{ports.api}/readyz")[0] == 200
    database = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{ports.postgres}/baton")
    assert await database.fetchval("SELECT name FROM workspaces WHERE slug = 'kept'") == "Kept"
    await database.close()
    redis = Redis(port=ports.redis, decode_responses=True)
    assert await redis.get("baton-dev-test") == "kept"
    await redis.aclose()
    temporal = await Client.connect(f"127.0.0.1:{ports.temporal}")
    description = await temporal.get_workflow_handle("kept-run").describe()
    assert description.status == WorkflowExecutionStatus.RUNNING

    assert second.stop(signal.SIGTERM) == 0, second.output()
    _assert_nothing_left(second, ports)


def test_a_taken_port_gives_a_clear_message_and_stops_what_was_started(
    tmp_path: Path, ports: Ports, dev: list[DevProcess]
) -> None:
    blocker = _occupy(ports.api)
    try:
        process = DevProcess(tmp_path / "data", ports)
        dev.append(process)
        process.wait_for("Temporal dev server")
        code = process.process.wait(90)
        output = process.output()
        assert code == 1, output
        assert f"Port {ports.api} for the API is already in use" in output
        assert "--port" in output
        assert "Traceback" not in output
        leftovers = [p for p in process.descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert leftovers == []
    finally:
        blocker.close()


def test_by_default_the_api_and_the_worker_are_one_process(
    tmp_path: Path, ports: Ports, dev: list[DevProcess]
) -> None:
    process = DevProcess(tmp_path / "data", ports)
    dev.append(process)
    process.wait_for("Press Ctrl-C to stop")
    assert "API and worker (one process)" in process.output()
    commands = [" ".join(child.cmdline()) for child in psutil.Process(process.process.pid).children()]
    assert any("baton serve" in line for line in commands), commands
    assert not any("baton worker" in line or "baton api" in line for line in commands), commands

    base = f"http://127.0.0.1:{ports.api}"
    with httpx.Client(base_url=base, timeout=30) as client:
        account = {"email": "one@example.com", "password": "one process 1", "firstName": "O", "lastName": "P"}
        client.post("/api/v1/auth/register", json=account).raise_for_status()
        login = client.post(
            "/api/v1/auth/login", json={"email": account["email"], "password": account["password"]}
        )
        headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        workspace = client.post("/api/v1/workspaces", headers=headers, json={"name": "One"}).json()
        workflows = f"/api/v1/workspaces/{workspace['id']}/workflows"
        body = {
            "name": "Echo",
            "triggerType": "WEBHOOK",
            "triggerConfig": {"methods": ["POST"], "mode": "sync"},
            "steps": [
                {"id": "double", "type": "set", "values": {"twice": "{{ trigger.body.n * 2 }}"}},
                {"id": "reply", "type": "respond", "status": 201, "body": {"twice": "{{ vars.twice }}"}},
            ],
        }
        workflow = client.post(workflows, headers=headers, json=body).json()
        client.post(f"{workflows}/{workflow['id']}/publish", headers=headers, json={}).raise_for_status()
        hooks = client.get(f"/api/v1/workspaces/{workspace['id']}/webhooks", headers=headers).json()["items"]
        reply = client.post(f"/hooks/{hooks[0]['token']}", json={"n": 21})
        assert reply.status_code == 201, reply.text
        assert reply.json() == {"twice": 42}

        # a step that fails is the user's event: one line per attempt and per run event, no traceback
        failing = {
            "name": "Down",
            "triggerType": "MANUAL",
            "steps": [{"id": "fetch", "type": "action", "action": "http.request", "retry": {"maxAttempts": 2,
                       "initialIntervalSeconds": 0.2}, "input": {"url": "http://127.0.0.1:9/"}}],
        }  # fmt: skip
        down = client.post(workflows, headers=headers, json=failing).json()
        client.post(f"{workflows}/{down['id']}/publish", headers=headers, json={}).raise_for_status()
        run = client.post(f"{workflows}/{down['id']}/run?wait=true", headers=headers, json={}).json()
        assert run["status"] == "FAILED", run
    run_line = f"run {run['id'][:8]}  "
    _eventually_printed(process, f"{run_line}Execution finished: FAILED")
    output = process.output()
    assert f"{run_line}Execution started" in output
    assert f"{run_line}Step 'fetch' failed attempt 1 of 2" in output
    assert f" serve   POST /hooks/{hooks[0]['token'][:4]}… 201" in output  # the webhook's token not shown
    assert hooks[0]["token"] not in output
    assert "verify the email of one@example.com" in output  # the development verification command
    assert "Traceback" not in output
    assert process.stop(signal.SIGINT) == 0, process.output()
    _assert_nothing_left(process, ports)


class _Answers200(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server handler's name
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _listening_ports(root: psutil.Process) -> set[int]:
    found: set[int] = set()
    for process in [root, *root.children(recursive=True)]:
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        found |= {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
    return found


def test_no_workflow_reaches_any_socket_the_baton_dev_stack_listens_on(
    tmp_path: Path, ports: Ports, dev: list[DevProcess]
) -> None:
    """With 127.0.0.1 allowed, every port a process of the stack listens on (the API and its /codec,
    PostgreSQL, Redis, Temporal's gRPC, HTTP API, Web UI, metrics and internal services, the worker's
    metrics) is refused to a workflow as one of Baton's own servers; a server of someone else's on
    127.0.0.1 is reached."""
    control = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers200)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    env = {"OUTBOUND_ALLOW": "127.0.0.1", "WORKER_METRICS_PORT": str(free_port())}
    process = DevProcess(tmp_path / "data", ports, env=env)
    dev.append(process)
    try:
        process.wait_for("Press Ctrl-C to stop")
        listening = _listening_ports(psutil.Process(process.process.pid))
        # the API, the databases, Temporal's gRPC, HTTP API, Web UI, metrics and three internal services,
        # the worker's metrics
        assert set(ports.all()) | {int(env["WORKER_METRICS_PORT"])} <= listening, listening
        assert len(listening) >= 11, listening
        assert control.server_address[1] not in listening

        base = f"http://127.0.0.1:{ports.api}"
        with httpx.Client(base_url=base, timeout=60) as client:
            account = {"email": "egress@example.com", "password": "egress guard 1", "firstName": "E",
                       "lastName": "G"}  # fmt: skip
            client.post("/api/v1/auth/register", json=account).raise_for_status()
            login = client.post(
                "/api/v1/auth/login", json={"email": account["email"], "password": account["password"]}
            )
            headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
            workspace = client.post("/api/v1/workspaces", headers=headers, json={"name": "Egress"}).json()
            workflows = f"/api/v1/workspaces/{workspace['id']}/workflows"
            body = {
                "name": "Probe",
                "triggerType": "MANUAL",
                "steps": [
                    {
                        "id": "probe",
                        "type": "action",
                        "action": "http.request",
                        "retry": {"maxAttempts": 1},
                        "input": {"url": "http://127.0.0.1:{{ trigger.port }}/"},
                    }
                ],
            }
            workflow = client.post(workflows, headers=headers, json=body).json()
            client.post(f"{workflows}/{workflow['id']}/publish", headers=headers, json={}).raise_for_status()

            def probe(port: int) -> dict[str, Any]:
                run = client.post(
                    f"{workflows}/{workflow['id']}/run?wait=true",
                    headers=headers,
                    json={"payload": {"port": port}},
                )
                assert run.status_code in (200, 201), run.text
                return dict(run.json())

            reached = probe(control.server_address[1])
            assert reached["status"] == "SUCCESS", reached
            for port in sorted(listening):
                refused = probe(port)
                assert refused["status"] == "FAILED", (port, refused)
                assert "Baton's own servers" in str(refused["error"]), (port, refused["error"])
    finally:
        control.shutdown()
    assert process.stop(signal.SIGINT) == 0, process.output()
