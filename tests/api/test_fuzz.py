"""Schemathesis against the API's own /openapi.json, on a real `baton api` process, authenticated as a
workspace owner: every operation gets generated cases that fit the schema and cases that break it (wrong
types, missing fields, strings where numbers go, odd encodings), with the path's ids both real (the
owner's workspace, workflow, execution, connection...) and made up. No answer may be a 5xx, and every 4xx
must be in the documented error shape {"error", "detail", "path"} (the MCP server's in JSON-RPC's, as its
protocol says).

FUZZ_EXAMPLES (per operation and mode, default 16) sets the depth; the figures go to the chaos summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from core.settings import Settings
from tests.api.test_webhooks import webhook_workflow
from tests.chaos.conftest import Process, record, start_api, worker_env
from tests.chaos.test_api_crashes import ready

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "16"))
pytestmark = pytest.mark.fuzz
MCP = "/mcp"  # an MCP server (streamable HTTP): its 4xx are JSON-RPC errors, as the protocol says
STREAMS = ("/events",)  # Server-Sent Event streams stay open: fuzzed with a short read timeout
# JSON Python parses but Baton cannot keep: each answered 500 once (the security review's list), sent in
# place of every top-level field of a generated body
HOSTILE = {
    "nested 500": b"[" * 500 + b"1" + b"]" * 500,
    "nested 900": b"[" * 900 + b"]" * 900,
    "objects nested 700": b'{"a":' * 700 + b"1" + b"}" * 700,
    "lone surrogate": b'"\\ud800"',
    "surrogate key": b'{"\\udc00": 1}',
    "NUL": b'"a\\u0000b"',
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "1e999999": b"1e999999",
}
# path numbers past PostgreSQL's INTEGER
HUGE_NUMBERS = ("2147483648", "-2147483649", "99999999999999999999")
PLACEHOLDER = "\u0001hostile\u0001"


async def real_ids(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, Any]]:
    """An owner with one of everything; returns the path ids and the Authorization header."""
    steps = [
        {"id": "ask", "type": "approval", "message": "ok?", "timeoutSeconds": 3600},
        {"id": "done", "type": "set", "values": {"n": "{{ trigger.body.n }}"}},
    ]
    base, headers, workflow_id, hook = await webhook_workflow(client, steps, email="fuzz@example.com")
    run = await client.post(f"/hooks/{hook['token']}", json={"n": 1})
    connection = await client.post(
        f"{base}/connections",
        headers=headers,
        json={"integrationId": "github", "name": "gh", "credentials": {"token": "ghp_" + "a" * 36}},
    )
    key = await client.post("/api/v1/me/api-keys", headers=headers, json={"name": "k", "scopes": ["read"]})
    ids = {
        "workspace_id": base.rsplit("/", 1)[1],
        "workflow_id": workflow_id,
        "execution_id": run.json()["executionId"],
        "webhook_id": hook["id"],
        "token": hook["token"],
        "integration_id": "github",
        "step_id": "ask",
        "version": "1",
        "user_id": (await client.get("/api/v1/me", headers=headers)).json()["id"],
    }
    if connection.is_success:
        ids["connection_id"] = connection.json()["id"]
    if key.is_success:
        ids["key_id"] = key.json()["id"]
    return ids, headers


def fuzz(base_url: str, headers: dict[str, str], ids: dict[str, str]) -> tuple[Counter[str], list[str]]:
    """Runs every operation's cases; returns the answers by status class and what went wrong."""
    spec = requests.get(f"{base_url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # DELETEs last, so the real ids stay real for the rest
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    seen: Counter[str] = Counter()
    problems: list[str] = []
    session = requests.Session()

    def check(case: Any, label: str, stream: bool) -> None:
        try:
            answer = case.call(
                base_url=base_url, session=session, headers=headers, timeout=0.5 if stream else 30
            )
        except requests.exceptions.ReadTimeout:
            if stream:
                seen["stream"] += 1  # an open stream: nothing to read yet
                return
            raise
        except requests.exceptions.InvalidHeader:
            seen["unsendable"] += 1  # the client refused to send it (a header with a newline)
            return
        seen[f"{answer.status_code // 100}xx"] += 1
        if answer.status_code >= 500:
            problems.append(f"{label}: {answer.status_code} {answer.text[:300]}")
        elif answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = None
            if label.endswith(MCP) and _json_rpc_error(body):
                return  # the MCP server answers its protocol's errors (JSON-RPC), which its clients read
            if not (isinstance(body, dict) and {"error", "detail"} <= body.keys()):
                problems.append(f"{label}: {answer.status_code} not in the error shape: {answer.text[:200]}")

    def cases(strategy: Any, label: str, stream: bool) -> None:
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def one(case: Any) -> None:
            check(case, label, stream)

        try:
            one()
        except Unsatisfiable:
            seen["nothing to break"] += 1  # a negative mode for an operation without inputs

    def hostile(case: Any, label: str) -> None:
        """The HOSTILE values in place of each top-level field of a schema-valid body."""
        if not isinstance(case.body, dict):
            return
        url = f"{base_url}{case.formatted_path}"
        sent = {**headers, **(case.headers or {}), "Content-Type": "application/json"}
        for field in case.body:
            template = json.dumps({**case.body, field: PLACEHOLDER}).encode()
            for name, value in HOSTILE.items():
                raw = template.replace(json.dumps(PLACEHOLDER).encode(), value)
                answer = session.request(
                    case.method, url, params=case.query, data=raw, headers=sent, timeout=30
                )
                seen[f"hostile {answer.status_code // 100}xx"] += 1
                if not 400 <= answer.status_code < 500:
                    problems.append(
                        f"{label} with {name} in {field}: {answer.status_code} {answer.text[:200]}"
                    )

    def huge_numbers(operation: Any, real: dict[str, str], label: str) -> None:
        for parameter in operation.path_parameters:
            if parameter.definition.get("schema", {}).get("type") != "integer":
                continue
            for number in HUGE_NUMBERS:
                names = {p.name: real.get(p.name, "unknown") for p in operation.path_parameters}
                path = operation.path.format(**{**names, parameter.name: number})
                answer = session.request(
                    operation.method.upper(), f"{base_url}{path}", headers=headers, timeout=30
                )
                seen[f"hostile {answer.status_code // 100}xx"] += 1
                if not 400 <= answer.status_code < 500:
                    problems.append(f"{label} with {parameter.name}={number}: {answer.status_code}")

    def hostile_cases(strategy: Any, label: str) -> None:
        @hypothesis_settings(
            max_examples=1,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def one(case: Any) -> None:
            hostile(case, label)

        try:
            one()
        except Unsatisfiable:
            seen["nothing to break"] += 1

    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = {name: ids[name] for name in names if name in ids}
        label = f"{operation.method.upper()} {operation.path}"
        stream = operation.path.endswith(STREAMS)
        # a manual run told to wait would wait out its timeout for the approval the workflow asks for, and so
        # would a step tested alone (it answers when the step ends, or at its timeoutSeconds)
        query: dict[str, Any] | None = None
        if operation.path.endswith("/run"):
            query = {"wait": False}
        elif operation.path.endswith("/test"):
            query = {"timeoutSeconds": 1}
        cases(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real, query=query), label, stream
        )
        # (a broken case of the step test keeps the short wait: it is the body or the path that breaks)
        broken = query if operation.path.endswith("/test") else None
        cases(
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real, query=broken), label, stream
        )
        cases(operation.as_strategy(GenerationMode.POSITIVE, query=query), label, stream)
        if not stream and operation.method.upper() != "DELETE":
            hostile_cases(
                operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real, query=query), label
            )
            huge_numbers(operation, real, label)
    return seen, problems


async def test_generated_requests_to_every_endpoint_get_no_5xx_and_documented_errors(
    settings: Settings,
    task_queue: str,
    engine_worker: object,  # noqa: ARG001 (serves the runs the API starts: approvals take decisions)
    processes: list[Process],
    tmp_path: Path,
) -> None:
    port = start_api(worker_env(settings, task_queue), tmp_path / "api.log", processes)
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await ready(client)
        ids, headers = await real_ids(client)
    seen, problems = await asyncio.to_thread(fuzz, base_url, headers, ids)
    cases = sum(seen.values())
    record(
        f"schemathesis on every operation ({EXAMPLES} examples per operation and mode)",
        cases=cases,
        answers=dict(seen),
        server_errors=seen["5xx"],
        problems=len(problems),
    )
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert problems == [], "\n".join(problems[:20])
    assert cases >= 2000 or EXAMPLES < 16, seen  # thousands of cases at the default depth
    assert seen["hostile 4xx"] >= 200, seen  # the hostile values went to every body and number
    assert "Traceback" not in log, log[-3000:]
    assert uuid.UUID(ids["workspace_id"])  # the real ids were used


def _json_rpc_error(body: Any) -> bool:
    """A JSON-RPC 2.0 error answer: {"jsonrpc": "2.0", "id", "error": {"code": int, "message": str}}."""
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and body.get("jsonrpc") == "2.0"
        and isinstance(error.get("code"), int)
        and isinstance(error.get("message"), str)
    )
