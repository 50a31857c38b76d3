"""Hostile input on a real uvicorn socket: deep JSON nesting, invalid UTF-8, NUL characters, huge headers,
bodies without a declared length; on the API and on a webhook. Each gets a 4xx in the error shape (or
the server's own 431/400 for headers it will not read), never a 5xx, and nothing is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import served_api, sign_up
from tests.api.test_webhooks import webhook_workflow

DEEP = 100_000


def assert_error(answer: httpx.Response, status: int, path: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert {"error", "detail"} <= body.keys()
    if path is not None:
        assert body["path"] == path, body


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with served_api(settings) as client:
        yield client


async def test_hostile_bodies_get_a_4xx_naming_the_problem(
    served: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    base, headers, workflow_id, hook = await webhook_workflow(served, email="hostile@example.com")
    json_headers = {**headers, "content-type": "application/json"}
    deep = ("[" * DEEP + "]" * DEEP).encode()
    deep_object = ('{"a":' * DEEP + "1" + "}" * DEEP).encode()
    cases = [
        # (method, url, body, headers, status)
        ("POST", f"{base}/workflows", deep, json_headers, 400),
        ("POST", f"{base}/workflows", deep_object, json_headers, 400),
        ("POST", f"/hooks/{hook['token']}", deep, {"content-type": "application/json"}, 400),
        ("POST", f"{base}/workflows", b'{"name": "\xff\xfe"}', json_headers, 400),
        ("POST", f"/hooks/{hook['token']}", b'{"n": "\xff"}', {"content-type": "application/json"}, 400),
        ("POST", f"/hooks/{hook['token']}", b'{"n": "\xc3\x28"}', {"content-type": "text/plain"}, 202),
    ]
    for method, url, body, extra, status in cases:
        answer = await served.request(method, url, content=body, headers=extra)
        if status == 202:
            assert answer.status_code == 202, (
                answer.text
            )  # text bodies are taken as text (bad bytes replaced)
            continue
        assert_error(answer, status)
    nul = await served.post(
        f"{base}/workflows",
        headers=headers,
        json={"name": "x\x00y", "triggerType": "MANUAL", "steps": []},
    )
    assert_error(nul, 422, "name")
    nested_nul = await served.post(
        f"/hooks/{hook['token']}", json={"order": {"lines": [{"sku": "a"}, {"sku": "b\x00"}]}}
    )
    assert_error(nested_nul, 422, "order.lines[1].sku")
    query_nul = await served.get(f"{base}/audit-logs", headers=headers, params={"action": "a\x00"})
    assert_error(query_nul, 422, "action")
    assert await db.fetchval("SELECT count(*) FROM workflows") == 1  # the webhook's own, nothing more
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 1  # the text body's run


async def test_huge_headers_and_unbounded_bodies_are_refused(served: httpx.AsyncClient) -> None:
    headers = await sign_up(served, "headers-big@example.com")
    for extra in ({"X-Filler": "a" * 200_000}, {f"X-H{i}": "v" * 40 for i in range(2000)}):
        # the server stops reading past 64 KiB of headers (api.server), answers 400 and closes
        async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as fresh:
            huge = await fresh.get("/api/v1/me", headers={**headers, **extra})
        assert huge.status_code == 400, huge.status_code
    host, port = served.base_url.host, served.base_url.port
    reader, writer = await asyncio.open_connection(host, port)  # a URL no client library would send
    writer.write(b"GET /api/v1/me?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 400")
    writer.close()

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(4096):  # 4 MiB without a Content-Length, over the 1 MiB limit
            yield b"a" * 1024
            await asyncio.sleep(0)

    streamed = await served.post(
        "/api/v1/auth/login", content=endless(), headers={"content-type": "application/json"}
    )
    assert_error(streamed, 413)
    assert (await served.get("/api/v1/me", headers=headers)).status_code == 200  # the server is fine


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


STEP = (
    '{{"name": "n", "triggerType": "MANUAL", '
    '"steps": [{{"id": "s", "type": "set", "values": {{"v": {0}}}}}]}}'
)
# (value, status, error kind)
VALUES = {
    "nested 500": (nested(500), 400, "invalid_json"),
    "nested 900": (nested(900), 400, "invalid_json"),
    "objects nested 700": ('{"a":' * 700 + "1" + "}" * 700, 400, "invalid_json"),
    "lone high surrogate": ('"\\ud800"', 400, "invalid_json"),
    "lone low surrogate": ('"a\\udfffb"', 400, "invalid_json"),
    "NaN": ("NaN", 400, "invalid_json"),
    "Infinity": ("Infinity", 400, "invalid_json"),
    "-Infinity": ("-Infinity", 400, "invalid_json"),
    "1e999999": ("1e999999", 400, "invalid_json"),
    "NUL": ('"a\\u0000"', 422, "validation_error"),
}


async def test_the_inputs_that_answered_500_answer_4xx_naming_where_and_store_nothing(
    served: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The security review's 500s (JSON nested 500-900 deep, lone surrogates, NUL characters, NaN, Infinity,
    numbers too large for a float, a version over int32 in a path) on a definition, a manual run's trigger
    data and a webhook call: each a 4xx in the error shape naming the JSON path, and nothing stored."""
    base, headers, workflow_id, hook = await webhook_workflow(served, email="fivehundred@example.com")
    json_headers = {**headers, "content-type": "application/json"}
    workflows, hook_url = f"{base}/workflows", f"/hooks/{hook['token']}"
    run = f"{workflows}/{workflow_id}/run"
    for name, (value, status, kind) in VALUES.items():
        for url, body, extra, path in (
            (workflows, STEP.format(value), json_headers, "steps[0].values.v"),
            (run, f'{{"triggerData": {{"v": {value}}}}}', json_headers, "triggerData.v"),
            (hook_url, f'{{"v": {value}}}', {"content-type": "application/json"}, "v"),
        ):
            answer = await served.post(url, content=body.encode(), headers=extra)
            assert answer.status_code == status, (name, url, answer.status_code, answer.text[:300])
            error = answer.json()
            assert error["error"] == kind, (name, error)
            assert error["path"].startswith(path), (name, url, error)
    nan = await served.post(run, content=b'{"triggerData": {"v": NaN}}', headers=json_headers)
    assert "NaN is not a JSON number" in nan.json()["detail"]
    # not only values: names, keys and the workspace's own fields
    for method, url, raw, path in (
        ("POST", workflows, b'{"name": "\\ud83d", "triggerType": "MANUAL"}', "name"),
        ("PATCH", base, b'{"name": "\\udc00"}', "name"),
        ("PATCH", base, b'{"settings": {"x": NaN}}', "settings.x"),
        ("POST", run, b'{"triggerData": {"\\ud800": 1}}', "triggerData.\ufffd"),
    ):
        answer = await served.request(method, url, content=raw, headers=json_headers)
        assert_error(answer, 400, path)
    # the deepest value anything legitimate sends still passes
    fine = await served.post(
        hook_url, content=nested(100).encode(), headers={"content-type": "application/json"}
    )
    assert fine.status_code == 202, fine.text
    for version in ("2147483648", "99999999999999999999", "-2147483649", "0"):
        for method, url in (
            ("GET", f"{workflows}/{workflow_id}/versions/{version}"),
            ("POST", f"{workflows}/{workflow_id}/versions/{version}/restore"),
        ):
            assert_error(await served.request(method, url, headers=headers), 422, "version")
    assert await db.fetchval("SELECT count(*) FROM workflows") == 1  # the webhook's own
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 1  # the 100-deep call's run
    assert await db.fetchval("SELECT count(*) FROM workflow_versions") == 1


async def test_malformed_json_is_a_400_saying_where_in_lines_and_columns(
    api_client: httpx.AsyncClient,
) -> None:
    answer = await api_client.post(
        "/api/v1/auth/login",
        content=b'{"email": "a@example.com",\n "password": }',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_json",
        "detail": "body is not valid JSON: Expecting value at line 2 column 14",
        "path": "body",
    }


async def test_an_expression_nested_thousands_deep_is_a_422_naming_its_field(
    served: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Jinja's parser recurses once per level: 3,000 brackets inside `{{ }}` raised RecursionError out of the
    definition's validation (a 500) instead of an error naming the field."""
    base, headers, _, _ = await webhook_workflow(served, email="deep-expression@example.com")
    deep = "{{ " + nested(3000) + " }}"
    definition = {"name": "deep", "triggerType": "MANUAL",
                  "steps": [{"id": "s", "type": "set", "values": {"v": deep}}]}  # fmt: skip
    answer = await served.post(f"{base}/workflows", json=definition, headers=headers)
    assert_error(answer, 422, "steps[0].values.v")
    assert "nested too deeply" in answer.json()["detail"], answer.json()
    assert await db.fetchval("SELECT count(*) FROM workflows") == 1  # the webhook's own
