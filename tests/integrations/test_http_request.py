"""`http.request` runs as a Temporal activity named after it, with the retry semantics users expect."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.contract import ActionRequest
from core.outbound import outbound_client, policy_for
from core.settings import Settings
from tests.http_server import Reply, ScriptedServer
from worker.main import build_worker


@workflow.defn(sandboxed=False)
class CallOneAction:
    """Test-only workflow: runs one action activity by its catalogue name."""

    @workflow.run
    async def run(self, action: str, data: dict[str, Any], task_queue: str) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            action,
            ActionRequest(input=data),
            task_queue=task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=4),
            result_type=dict,
        )
        return result


@pytest.fixture
async def run_action(
    temporal_client: Client, settings: Settings, task_queue: str, engine: AsyncEngine, redis: Redis
) -> AsyncIterator[Any]:
    # the worker's own client: outbound calls guarded, 127.0.0.1 permitted by the tests' OUTBOUND_ALLOW
    async with outbound_client(policy_for(settings), follow_redirects=True) as http:
        worker = build_worker(temporal_client, settings, http, engine, redis, task_queue=task_queue)
        test_worker = Worker(
            temporal_client,
            task_queue=f"{task_queue}-calls",
            workflows=[CallOneAction],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        async with worker, test_worker:

            async def run(action: str, data: dict[str, Any]) -> dict[str, Any]:
                result: dict[str, Any] = await temporal_client.execute_workflow(
                    CallOneAction.run,
                    args=[action, data, task_queue],
                    id=f"test-{uuid.uuid4()}",
                    task_queue=f"{task_queue}-calls",
                )
                return result

            yield run


def _cause(error: WorkflowFailureError) -> ApplicationError:
    assert isinstance(error.cause, ActivityError)
    assert isinstance(error.cause.cause, ApplicationError)
    return error.cause.cause


async def test_a_json_answer_comes_back_parsed_with_status_and_headers(
    run_action: Any, http_server: ScriptedServer
) -> None:
    url = http_server.script("/people/ada", Reply(200, {"tier": "gold"}, {"x-request-id": "r1"}))
    output = await run_action("http.request", {"url": url, "query": {"full": True, "n": 2}})
    assert output["status"] == 200
    assert output["body"] == {"tier": "gold"}
    assert output["headers"]["x-request-id"] == "r1"
    assert http_server.hits("/people/ada")[0].query == {"full": ["true"], "n": ["2"]}


async def test_json_form_and_raw_bodies_are_sent_as_such(
    run_action: Any, http_server: ScriptedServer
) -> None:
    url = http_server.script("/echo", Reply(201, "created"))
    out = await run_action("http.request", {"method": "POST", "url": url, "json": {"a": [1, 2]}})
    assert (out["status"], out["body"]) == (201, "created")
    await run_action("http.request", {"method": "PUT", "url": url, "form": {"k": "v w"}})
    await run_action(
        "http.request",
        {"method": "PATCH", "url": url, "body": "<x/>", "headers": {"content-type": "application/xml"}},
    )
    json_call, form_call, raw_call = http_server.hits("/echo")
    assert json_call.headers["Content-Type"] == "application/json"
    assert json_call.body == b'{"a":[1,2]}'
    assert form_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_call.body == b"k=v+w"
    assert (raw_call.method, raw_call.body, raw_call.headers["content-type"]) == (
        "PATCH",
        b"<x/>",
        "application/xml",
    )


async def test_a_404_fails_at_once_without_retrying(run_action: Any, http_server: ScriptedServer) -> None:
    url = http_server.script("/missing", Reply(404, {"error": "nope"}))
    with pytest.raises(WorkflowFailureError) as caught:
        await run_action("http.request", {"url": url})
    cause = _cause(caught.value)
    assert cause.type == "HTTP404"
    assert cause.non_retryable
    assert len(http_server.hits("/missing")) == 1


async def test_a_503_is_retried_after_the_delay_the_server_asks_for(
    run_action: Any, http_server: ScriptedServer
) -> None:
    url = http_server.script(
        "/flaky", Reply(503, "busy", {"retry-after": "1"}), Reply(429, "slow down"), Reply(200, {"ok": True})
    )
    output = await run_action("http.request", {"url": url})
    assert output["body"] == {"ok": True}
    first, second, _ = http_server.hits("/flaky")
    assert second.at - first.at >= 0.9  # Retry-After: 1, although the policy's interval is 50 ms


async def test_contradictory_input_is_refused_without_calling_anything(
    run_action: Any, http_server: ScriptedServer
) -> None:
    url = http_server.script("/never", Reply(200, "x"))
    with pytest.raises(WorkflowFailureError) as caught:
        await run_action("http.request", {"url": url, "json": {"a": 1}, "body": "b"})
    assert _cause(caught.value).type == "InvalidInput"
    with pytest.raises(WorkflowFailureError) as caught:
        await run_action("http.request", {"url": url, "method": "BREW"})
    assert _cause(caught.value).type == "InvalidInput"
    assert http_server.hits("/never") == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.0.0.1/admin",  # private
        "http://127.0.0.2:9/",  # loopback, not the one address the tests permit
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped IPv6
        "http://0.0.0.0:9/",  # unspecified
        "http://[fe80::1]/",  # IPv6 link-local
    ],
)
async def test_internal_addresses_are_refused_at_once_without_a_connection(run_action: Any, url: str) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        await run_action("http.request", {"url": url})
    cause = _cause(caught.value)
    assert cause.type == "BlockedAddress"
    assert cause.non_retryable
    assert "OUTBOUND_ALLOW" in str(cause)


async def test_a_redirect_to_an_internal_address_is_refused(
    run_action: Any, http_server: ScriptedServer
) -> None:
    metadata = "http://169.254.169.254/latest/meta-data/iam"
    url = http_server.script("/jump", Reply(302, "", {"location": metadata}))
    with pytest.raises(WorkflowFailureError) as caught:
        await run_action("http.request", {"url": url})
    assert _cause(caught.value).type == "BlockedAddress"
    assert len(http_server.hits("/jump")) == 1


async def test_a_query_string_written_in_the_url_is_kept(
    run_action: Any, http_server: ScriptedServer
) -> None:
    """httpx replaced the URL's own query with `query` (even an empty one): `?page=2` was dropped."""
    url = http_server.script("/items", Reply(200, {"items": []}))
    await run_action("http.request", {"url": f"{url}?page=2&tag=a&tag=b"})
    await run_action("http.request", {"url": f"{url}?page=3", "query": {"n": 5}})
    first, second = http_server.hits("/items")
    assert first.query == {"page": ["2"], "tag": ["a", "b"]}
    assert second.query == {"page": ["3"], "n": ["5"]}
