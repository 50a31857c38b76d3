"""The action runtime every integration shares: rate limits that delay instead of fail, one error
classification, idempotency keys that survive retries, and the usage record of each call."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.action_terms import effective_limit
from activities.actions import ActionActivities
from core.contract import ActionRequest
from core.redis_keys import RedisKeys
from core.settings import Settings
from integrations.context import ActionContext, ActionError
from integrations.sdk import RateLimit
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio
from worker.main import connection_loader

LIMIT, WINDOW = 3, 2
ARRIVAL_SLACK = 0.5  # seconds between the limiter's admission and the call reaching the service


async def test_a_connection_limited_to_n_calls_runs_2n_steps_all_succeed_never_over_n_per_window(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/items", Reply(200, {"ok": True}))
    connection = await studio.connect(
        "http", {"type": "bearer", "token": "t"}, rate_limit={"limit": LIMIT, "windowSeconds": WINDOW}
    )
    fetch = {
        "id": "fetch",
        "type": "action",
        "action": "http.request",
        "connectionId": connection,
        "input": {"url": url, "query": {"n": "{{ item }}"}},
    }
    workflow = await studio.publish(
        [
            # Temporal's own retries, paced by next_retry_delay
            {
                "id": "first",
                "type": "loop",
                "items": "{{ [1, 2, 3, 4, 5, 6] }}",
                "concurrency": 6,
                "steps": [fetch],
            },
            # a single attempt per activity: the interpreter waits durably for the window instead of failing
            {
                "id": "second",
                "type": "loop",
                "items": "{{ [7, 8, 9, 10, 11, 12] }}",
                "concurrency": 6,
                "steps": [{**fetch, "id": "fetch_once", "retry": {"maxAttempts": 1}}],
            },
        ]
    )
    execution = await studio.run(workflow, timeout=120)
    assert execution["status"] == "SUCCESS", execution["error"]
    seen = http_server.hits("/items")
    assert sorted(int(s.query["n"][0]) for s in seen) == list(range(1, 13))  # each step called once
    times = sorted(s.at for s in seen)
    # The limiter admits at most LIMIT calls per fixed window. Calls that waited for a window all go as it
    # opens, so the last calls of one window and the first of the next can reach the service within a
    # moment of each other (each arrives a little after its admission): what a fixed window guarantees at
    # the service is at most two windows' worth in any window-long span, and the pacing below.
    for start in times:
        assert sum(1 for t in times if start <= t < start + WINDOW - ARRIVAL_SLACK) <= 2 * LIMIT
    # and calls never ran ahead of the windows: the k-th group of LIMIT calls came no earlier than k - 1
    # windows after the first call
    for index, at in enumerate(times):
        assert at >= times[0] + (index // LIMIT - 1) * WINDOW - ARRIVAL_SLACK, (index, times)
    assert times[-1] - times[0] >= 3 * WINDOW - 0.5  # 12 calls at 3 per window: at least 4 windows


def test_a_connection_lowers_an_integrations_limit_but_never_raises_it() -> None:
    declared = RateLimit(50, 60)
    assert effective_limit(declared, None) == declared
    assert effective_limit(declared, {"limit": 10, "windowSeconds": 60}) == RateLimit(10, 60)
    assert effective_limit(declared, {"limit": 500, "windowSeconds": 60}) == declared
    assert effective_limit(None, {"limit": 5}) == RateLimit(5, 60)


@pytest.mark.parametrize(
    ("reply", "error_type", "retryable", "retry_after"),
    [
        (Reply(401, {"message": "Bad credentials"}), "AuthenticationFailed", False, None),
        (Reply(429, {"error": "slow down"}, {"Retry-After": "7"}), "HTTP429", True, 7.0),
        (Reply(503, "maintenance"), "HTTP503", True, None),
        (Reply(404, {"message": "Not Found"}), "HTTP404", False, None),
        (Reply(422, {"message": "Validation Failed"}), "HTTP422", False, None),
    ],
)
async def test_service_errors_are_classified_once_for_every_integration(
    http_server: ScriptedServer, reply: Reply, error_type: str, retryable: bool, retry_after: float | None
) -> None:
    http_server.script("/thing", reply)
    async with httpx.AsyncClient() as http:
        context = ActionContext(
            {}, http, __import__("logging").getLogger("t"), base_url=http_server.base_url, service="Acme"
        )
        with pytest.raises(ActionError) as raised:
            await context.request("GET", "/thing")
    assert (raised.value.type, raised.value.retryable, raised.value.retry_after) == (
        error_type,
        retryable,
        retry_after,
    )
    assert "Acme" in raised.value.message
    if error_type == "AuthenticationFailed":
        assert "Reconnect" in raised.value.message


async def test_an_unreachable_service_is_retried() -> None:
    async with httpx.AsyncClient() as http:
        context = ActionContext(
            {}, http, __import__("logging").getLogger("t"), base_url="http://127.0.0.1:9", service="Acme"
        )
        with pytest.raises(ActionError) as raised:
            await context.request("GET", "/")
    assert (raised.value.type, raised.value.retryable) == ("ConnectionError", True)


async def test_a_retried_post_carries_the_same_idempotency_key(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/charges", Reply(502, "bad gateway"), Reply(201, {"id": "ch_1"}))
    workflow = await studio.publish(
        [
            {
                "id": "charge",
                "type": "action",
                "action": "http.request",
                "input": {"method": "POST", "url": url, "json": {"amount": 100}},
                "retry": {"maxAttempts": 3, "initialIntervalSeconds": 0.2},
            }
        ]
    )
    first = await studio.run(workflow)
    assert first["status"] == "SUCCESS", first["error"]
    keys = [s.headers["Idempotency-Key"] for s in http_server.hits("/charges")]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    await studio.run(workflow)
    assert http_server.hits("/charges")[-1].headers["Idempotency-Key"] != keys[0]  # another run, another key


async def test_a_retry_after_the_step_acted_reuses_its_output_instead_of_acting_twice(
    settings: Settings, engine: AsyncEngine, redis: Redis, redis_keys: RedisKeys, http_server: ScriptedServer
) -> None:
    """Attempt 1 acts and then is lost (its worker dies before Temporal hears of it); attempt 2 must not
    post again. The activity is called as Temporal calls it, attempt number and all."""
    url = http_server.script("/messages", Reply(201, {"id": "m1"}), Reply(201, {"id": "m2"}))
    async with httpx.AsyncClient() as http:
        actions = ActionActivities(
            http, None, connection_loader(settings, engine, redis, http), redis=redis, keys=redis_keys
        )
        execute = next(
            a
            for a in actions.activities()
            if getattr(a, "__temporal_activity_definition").name == "http.request"
        )
        request = ActionRequest(
            input={"method": "POST", "url": url, "json": {"text": "hi"}},
            execution_id="exec-1",
            step_id="notify",
            step_key="notify",
        )
        environment = ActivityEnvironment()
        first: dict[str, Any] = await environment.run(execute, request)
        environment.info = dataclasses.replace(environment.info, attempt=2)
        second: dict[str, Any] = await environment.run(execute, request)
        # a read-only action (no side effects) simply runs again
        reread = ActionRequest(input={"url": url}, execution_id="exec-1", step_id="read", step_key="read")
        await environment.run(execute, reread)
    assert second == first
    assert json.dumps(first).count("m1") == 1
    assert [s.method for s in http_server.hits("/messages")] == ["POST", "GET"]


async def test_each_call_is_recorded_in_integration_usage_with_the_services_rate_limit(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script(
        "/api",
        Reply(
            200,
            {"ok": True},
            {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "99", "x-ratelimit-reset": "1893456000"},
        ),
    )
    workflow = await studio.publish(
        [{"id": "call", "type": "action", "action": "http.request", "input": {"url": url}}]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS"
    usage = await studio.usage()
    assert len(usage) == 1
    record = usage[0]
    assert (record["integration_id"], record["action"], record["success"], record["execution_id"]) == (
        "http",
        "request",
        True,
        execution["id"],
    )
    assert json.loads(record["rate_limit"]) == {
        "remaining": 99,
        "limit": 100,
        "reset": "2030-01-01T00:00:00+00:00",
    }
    assert record["duration"] >= 0
