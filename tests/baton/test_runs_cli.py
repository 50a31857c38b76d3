"""`baton login`, `baton runs` and `baton approvals` against a real Baton API (uvicorn on 127.0.0.1) with a
real worker: a run parked on an approval is listed as waiting, shown as a tree, decided from the terminal,
and followed live to its end."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from baton.cli_runs import TERMINAL
from core.settings import Settings
from tests.api.conftest import PASSWORD, served_api, sign_up
from tests.engine import Engine
from tests.integrations.conftest import eventually


async def baton(config: Path, *args: str, timeout: float = 60) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton",
        *args,
        env={**os.environ, "BATON_CLI_CONFIG": str(config)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, out.decode()


async def approvals_listing(config: Path, execution_id: str, tries: int = 100) -> str:
    """`baton approvals list` once it lists the run (it reached its approval), else its last output."""
    out = ""
    for _ in range(tries):
        code, out = await baton(config, "approvals", "list")
        if execution_id in out:
            break
        await asyncio.sleep(0.2)
    return out


async def ops_workspace(
    api: httpx.AsyncClient, scopes: list[str]
) -> tuple[dict[str, str], dict[str, Any], str]:
    """A new user with an "Ops" workspace and an API key of these scopes: (headers, workspace, key)."""
    headers = await sign_up(api, f"cli-{uuid.uuid4().hex[:6]}@example.com")
    workspace = (await api.post("/api/v1/workspaces", headers=headers, json={"name": "Ops"})).json()
    key = await api.post("/api/v1/me/api-keys", headers=headers, json={"name": "terminal", "scopes": scopes})
    assert key.status_code == 201, key.text
    return headers, workspace, str(key.json()["key"])


async def test_a_waiting_run_listed_shown_decided_and_watched_from_the_terminal(
    settings: Settings, task_queue: str, engine_worker: Engine, tmp_path: Path
) -> None:
    del engine_worker  # only needed running
    config = tmp_path / "cli.json"
    code, out = await baton(config, "runs", "list")
    assert code == 1
    assert "not logged in: run `baton login" in out

    async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
        headers, workspace, key = await ops_workspace(
            api, ["executions:read", "executions:write", "workflows:read"]
        )
        base = f"/api/v1/workspaces/{workspace['id']}"
        workflow = (
            await api.post(
                f"{base}/workflows",
                headers=headers,
                json={
                    "name": "Refunds",
                    "triggerType": "MANUAL",
                    "steps": [
                        {"id": "draft", "type": "set", "values": {"amount": 40}},
                        {"id": "approve", "type": "approval", "message": "Refund 40 EUR?"},
                    ],
                },
            )
        ).json()
        await api.post(f"{base}/workflows/{workflow['id']}/publish", headers=headers, json={})
        run = (await api.post(f"{base}/workflows/{workflow['id']}/run", headers=headers, json={})).json()

        code, out = await baton(config, "login", "--url", str(api.base_url), "--token", key)
        assert code == 0, out
        assert f"workspace {workspace['id']}" in out

        for _ in range(100):  # until the run reaches its approval
            code, out = await baton(config, "runs", "list", "--state", "waiting")
            if run["id"] in out:
                break
            await asyncio.sleep(0.2)
        assert code == 0, out
        assert "approve: waiting for approval: Refund 40 EUR?" in out

        code, out = await baton(config, "runs", "show", run["id"])
        assert code == 0, out
        assert "✓ draft (set)" in out
        assert "… approve (approval)" in out
        assert "waiting for approval: Refund 40 EUR?" in out

        code, out = await baton(config, "approvals", "list")
        assert code == 0, out
        assert "approve: Refund 40 EUR?" in out
        assert "you may decide" in out

        code, out = await baton(config, "runs", "pause", run["id"], "--reason", "audit")
        assert code == 0, out
        assert "pauses before its next step" in out
        code, out = await baton(config, "runs", "unpause", run["id"], "--step-input", "{not json")
        assert code == 1
        assert "--step-input is not JSON" in out
        code, out = await baton(config, "runs", "unpause", run["id"])
        assert code == 0, out
        assert "goes on" in out

        watcher = asyncio.create_task(baton(config, "runs", "watch", run["id"]))
        await asyncio.sleep(1.5)  # the watch is subscribed
        code, out = await baton(config, "approvals", "decide", run["id"], "approve", "--approve")
        assert code == 0, out
        assert "Approved approve" in out
        code, watched = await watcher
        assert code == 0, watched
        assert "completed successfully" in watched or "SUCCESS" in watched

        code, out = await baton(config, "runs", "show", run["id"])
        assert f"Run {run['id']}: SUCCESS" in out
        code, out = await baton(config, "approvals", "list")
        assert "Nothing waits for an approval." in out

    code, out = await baton(config, "runs", "list")  # the API is gone
    assert code == 1
    assert "cannot reach Baton" in out


async def final_status(api: httpx.AsyncClient, headers: dict[str, str], base: str, execution_id: str) -> str:
    async def ended() -> str | None:
        status = (await api.get(f"{base}/executions/{execution_id}", headers=headers)).json()["status"]
        return str(status) if status in TERMINAL else None

    status = await eventually(ended, timeout=30)
    assert status, f"run {execution_id} did not end"
    return str(status)


async def test_failed_runs_retried_resumed_with_a_fixed_trigger_and_replayed_in_bulk_from_the_terminal(
    settings: Settings, task_queue: str, engine_worker: Engine, tmp_path: Path
) -> None:
    del engine_worker  # only needed running
    config = tmp_path / "cli.json"
    async with served_api(settings.model_copy(update={"temporal_task_queue": task_queue})) as api:
        headers, workspace, key = await ops_workspace(api, ["executions:read", "executions:write"])
        base = f"/api/v1/workspaces/{workspace['id']}"
        steps = [{"id": "share", "type": "set", "values": {"each": "{{ 10 / trigger.parts }}"}}]
        workflow = (
            await api.post(
                f"{base}/workflows",
                headers=headers,
                json={"name": "Split", "triggerType": "MANUAL", "steps": steps},
            )
        ).json()
        await api.post(f"{base}/workflows/{workflow['id']}/publish", headers=headers, json={})
        failed = []
        for _ in range(2):  # 10 / 0: each run fails at its step
            run = await api.post(
                f"{base}/workflows/{workflow['id']}/run", headers=headers, json={"payload": {"parts": 0}}
            )
            failed.append(run.json()["id"])
        assert [await final_status(api, headers, base, i) for i in failed] == ["FAILED", "FAILED"]
        code, out = await baton(config, "login", "--url", str(api.base_url), "--token", key)
        assert code == 0, out

        code, out = await baton(config, "runs", "resume", failed[0], "--trigger", "{parts: 2}")
        assert code == 1
        assert "--trigger is not JSON" in out
        code, out = await baton(config, "runs", "resume", failed[0], "--trigger", '{"parts": 2}')
        assert code == 0, out
        resumed = out.split(" as ")[1].split(";")[0]
        assert await final_status(api, headers, base, resumed) == "SUCCESS"

        code, out = await baton(config, "runs", "retry", failed[1])
        assert code == 0, out
        retried = out.split(" as ")[1].split(";")[0]
        assert await final_status(api, headers, base, retried) == "FAILED"  # the same trigger: 10 / 0

        code, out = await baton(config, "runs", "replay", "--workflow", workflow["id"], "--dry-run")
        assert code == 0, out
        assert "3 runs match; a retry would replay 3" in out, out
        code, out = await baton(config, "runs", "replay", "--workflow", workflow["id"], "--limit", "2")
        assert code == 0, out
        assert "retry of 2 runs" in out
        assert "2/2 done: 2 started, 0 skipped" in out
        batch_id = out.split("Batch ")[1].split(":")[0]
        code, out = await baton(config, "runs", "batch", batch_id)
        assert code == 0, out
        assert "COMPLETED, 2/2 done" in out
        assert out.count(" -> ") == 2

        code, out = await baton(config, "runs", "replay", "--status", "SUCCESS")
        assert code == 1
        assert "422" in out
        assert "status" in out


async def test_login_with_a_password_makes_and_stores_an_api_key(settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "cli.json"
    async with served_api(settings) as api:
        email = f"login-{uuid.uuid4().hex[:6]}@example.com"
        headers = await sign_up(api, email)
        await api.post("/api/v1/workspaces", headers=headers, json={"name": "Mine"})
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "baton", "login", "--url", str(api.base_url), "--email", email,
            env={**os.environ, "BATON_CLI_CONFIG": str(config)},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(f"{PASSWORD}\n".encode()), 60)
        assert process.returncode == 0, out.decode()
        assert "Made the API key bat_" in out.decode()
        saved = json.loads(config.read_text())
        assert saved["token"].startswith("bat_")  # a key, not the 15-minute login token
        assert config.stat().st_mode & 0o777 == 0o600
        keys = (await api.get("/api/v1/me/api-keys", headers=headers)).json()["items"]
        assert [k["name"] for k in keys] == [f"baton CLI on {socket.gethostname()}"[:100]]
        code, listed = await baton(config, "runs", "list")
        assert code == 0, listed

        wrong = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "baton", "login", "--url", str(api.base_url), "--email", email,
            env={**os.environ, "BATON_CLI_CONFIG": str(tmp_path / "other.json")},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(wrong.communicate(b"not the password\n"), 60)
        assert wrong.returncode == 1
        assert "could not log in" in out.decode()


def test_what_an_open_run_does_in_one_line() -> None:
    """The list's and the tree's line for a run that waits for a slot, is paused or parked on a failure."""
    from baton.cli_runs import _live

    slot = {"state": "waiting", "steps": [], "slot": {"key": "c-42", "limit": 1, "place": 3}}
    assert _live(slot) == "waiting for a concurrency slot (key c-42): place 3, 1 at once"
    paused = {"state": "waiting", "steps": [{"stepId": "push", "kind": "waiting", "for": "pause",
                                             "reason": "CRM migration"}]}  # fmt: skip
    assert _live(paused) == "paused before push: CRM migration"
    parked = {"state": "waiting", "steps": [{"stepId": "push", "kind": "waiting", "for": "fix"}]}
    assert _live(parked).startswith("push failed: waiting for an operator")
