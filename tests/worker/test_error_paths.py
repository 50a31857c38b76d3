"""onError modes, retries, timeouts, cancellation and approvals, end to end on the dev server."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError

from baton.embedded import free_port
from core.contract import Decision
from core.settings import Settings
from tests.conftest import EngineFor
from tests.engine import Engine, output
from tests.http_server import Reply, ScriptedServer


def call(step_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "action", "action": "http.request", "input": {"url": url}, **extra}


async def test_on_error_fail_ends_the_run_failed_and_counts_it(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/bad", Reply(422, {"error": "bad"}))
    handle = await engine_worker.start(
        [call("send", url), {"id": "never", "type": "set", "values": {"x": 1}}]
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    execution = await engine_worker.execution(handle)
    assert execution["status"] == "FAILED"
    assert "answered 422" in execution["error"]
    rows = await engine_worker.step_rows(handle)
    assert rows["send"]["status"] == "FAILED"
    assert "answered 422" in rows["send"]["error"]
    assert "never" not in rows
    counters = await engine_worker.db.fetchrow(
        "SELECT total_executions, failed_executions FROM workflows WHERE id = $1", execution["workflow_id"]
    )
    assert tuple(counters) == (1, 1)


async def test_on_error_continue_records_the_error_as_the_output(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/bad", Reply(404, "missing"))
    result = await engine_worker.run(
        [
            call("send", url, onError="continue"),
            {"id": "after", "type": "set", "values": {"why": "{{ steps.send.output.error.type }}"}},
        ]
    )
    assert result.status == "SUCCESS"
    assert result.result == {"why": "HTTP404"}


async def test_on_error_steps_run_instead_and_see_the_error(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/bad", Reply(400, "no"))
    handle = await engine_worker.start(
        [
            call(
                "send",
                url,
                onError=[
                    {
                        "id": "fallback",
                        "type": "set",
                        "values": {"handled": "{{ steps.send.output.error.message }}"},
                    }
                ],
            ),
            {"id": "after", "type": "set", "values": {"from": "{{ steps.send.output.handled }}"}},
        ]
    )
    result = await handle.result()
    assert result.result["from"].endswith("answered 400: no")
    rows = await engine_worker.step_rows(handle)
    assert rows["send"]["status"] == "FAILED"
    assert rows["fallback"]["status"] == "SUCCESS"


async def test_retries_follow_the_step_policy_with_backoff(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/flaky", Reply(500, "oops"), Reply(500, "oops"), Reply(200, {"ok": 1}))
    handle = await engine_worker.start(
        [call("send", url, retry={"maxAttempts": 3, "initialIntervalSeconds": 0.2, "backoffCoefficient": 3})]
    )
    assert (await handle.result()).result["body"] == {"ok": 1}
    first, second, third = http_server.hits("/flaky")
    assert second.at - first.at >= 0.2
    assert third.at - second.at >= 0.6  # 0.2 s x 3
    rows = await engine_worker.step_rows(handle)
    assert rows["send"]["retry_count"] == 2


async def test_retries_stop_at_max_attempts(engine_worker: Engine, http_server: ScriptedServer) -> None:
    url = http_server.script("/down", Reply(503, "down"))
    with pytest.raises(WorkflowFailureError):
        await engine_worker.run([call("send", url, retry={"maxAttempts": 2, "initialIntervalSeconds": 0.1})])
    assert len(http_server.hits("/down")) == 2


async def test_a_service_that_refuses_connections_fails_the_step_after_its_retries(
    engine_worker: Engine,
) -> None:
    """A refused connection is the service's outage, not Baton's (core.outages): the step's retries apply and
    the run fails, instead of waiting for the service as it would for Baton's own PostgreSQL or Redis."""
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    handle = await engine_worker.start(
        [call("send", url, retry={"maxAttempts": 2, "initialIntervalSeconds": 0.1})]
    )
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 30)
    execution = await engine_worker.execution(handle)
    assert execution["status"] == "FAILED"
    assert "unreachable" in execution["error"]


async def test_a_step_timeout_fails_the_step(engine_worker: Engine) -> None:
    handle = await engine_worker.start(
        [
            {
                "id": "slow",
                "type": "condition",
                "if": "{{ true }}",
                "timeoutSeconds": 1,
                "then": [{"id": "nap", "type": "delay", "seconds": 60}],
            }
        ]
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    execution = await engine_worker.execution(handle)
    assert "timed out" in execution["error"]


async def test_the_run_timeout_gives_timeout(engine_worker: Engine) -> None:
    handle = await engine_worker.start([{"id": "nap", "type": "delay", "seconds": 60}], timeout_seconds=1)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    execution = await engine_worker.execution(handle)
    assert execution["status"] == "TIMEOUT"
    assert execution["error"] == "the run did not finish within 1s"


async def test_cancelling_a_run_gives_cancelled(engine_worker: Engine) -> None:
    handle = await engine_worker.start([{"id": "nap", "type": "delay", "seconds": 3600}])
    await _wait_for_step(handle, "nap")
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    execution = await engine_worker.execution(handle)
    assert execution["status"] == "CANCELLED"
    counters = await engine_worker.db.fetchrow(
        "SELECT total_executions, failed_executions FROM workflows WHERE id = $1", execution["workflow_id"]
    )
    assert tuple(counters) == (1, 0)


async def test_an_expression_error_names_the_step_and_the_field(engine_worker: Engine) -> None:
    handle = await engine_worker.start(
        [{"id": "calc", "type": "set", "values": {"ratio": "{{ 1 / trigger.zero }}"}}], {"zero": 0}
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    error = (await engine_worker.execution(handle))["error"]
    assert error.startswith("step 'calc' values.ratio: ZeroDivisionError")


APPROVAL: list[dict[str, Any]] = [
    {
        "id": "review",
        "type": "approval",
        "message": "Ship it?",
        "timeoutSeconds": 3600,
        "defaultDecision": "reject",
    },
    {
        "id": "after",
        "type": "set",
        "values": {"approved": "{{ steps.review.output.approved }}", "by": "{{ steps.review.output.by }}"},
    },
]


async def _wait_for_step(handle: WorkflowHandle[Any, Any], step_id: str) -> None:
    for _ in range(100):
        if step_id in (await handle.query("state"))["current"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{step_id} never started")


async def test_approval_approved_records_who_decided(engine_worker: Engine) -> None:
    handle = await engine_worker.start(APPROVAL)
    await _wait_for_step(handle, "review")
    assert (await handle.query("state"))["waitingForDecision"] == ["review"]
    answer = await handle.execute_update("decide", Decision("review", True, by="user-1", comment="go"))
    assert answer == {"stepId": "review", "approved": True}
    assert (await handle.result()).result == {"approved": True, "by": "user-1"}
    review = (await engine_worker.step_rows(handle))["review"]
    # the decision is kept with what was asked (rendered when the step began)
    assert output(review) == {"approved": True, "by": "user-1", "comment": "go", "message": "Ship it?"}


async def test_approval_rejected(engine_worker: Engine) -> None:
    handle = await engine_worker.start(APPROVAL)
    await _wait_for_step(handle, "review")
    await handle.execute_update("decide", Decision("review", False, by="user-2"))
    assert (await handle.result()).result == {"approved": False, "by": "user-2"}


async def test_approval_timeout_applies_the_default_decision(engine_worker: Engine) -> None:
    steps = [{**APPROVAL[0], "timeoutSeconds": 1, "defaultDecision": "approve"}, APPROVAL[1]]
    assert (await engine_worker.run(steps)).result == {"approved": True, "by": None}


async def test_a_decision_for_a_step_that_is_not_waiting_is_refused(engine_worker: Engine) -> None:
    handle = await engine_worker.start(APPROVAL)
    await _wait_for_step(handle, "review")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update("decide", Decision("after", True, by="user-1"))
    assert "'after' is not waiting for a decision" in str(caught.value.cause)
    await handle.execute_update("decide", Decision("review", True, by="user-1"))
    await handle.result()
    with pytest.raises(Exception, match="not waiting|completed"):
        await handle.execute_update("decide", Decision("review", True, by="user-1"))


async def test_only_listed_approvers_may_decide(engine_worker: Engine) -> None:
    handle = await engine_worker.start([{**APPROVAL[0], "approvers": ["boss"]}, APPROVAL[1]])
    await _wait_for_step(handle, "review")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update("decide", Decision("review", True, by="intern"))
    assert "intern may not decide step 'review'" in str(caught.value.cause)
    await handle.execute_update("decide", Decision("review", True, by="boss"))
    assert (await handle.result()).result["by"] == "boss"


async def test_a_decision_reaches_a_run_the_worker_no_longer_holds_in_memory(
    engine_for: EngineFor, settings: Settings, db: asyncpg.Connection
) -> None:
    """With no cache, every workflow task replays the run from its history: a decision must still find the
    approval waiting (as it does for the thousands of parked runs a worker cannot keep in memory)."""
    uncached = settings.model_copy(update={"worker_max_cached_workflows": 0})
    async with engine_for(uncached) as uncached_engine:
        handle = await uncached_engine.start(APPROVAL)
        for _ in range(100):
            if (
                await db.fetchval(
                    "SELECT status FROM workflow_executions WHERE id = $1", handle.id.removeprefix("run-")
                )
                == "RUNNING"
            ):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # parked on its approval
        answer = await handle.execute_update("decide", Decision("review", True, by="user-3"))
        assert answer == {"stepId": "review", "approved": True}
        assert (await handle.result()).result == {"approved": True, "by": "user-3"}


async def test_a_decision_sent_before_the_run_first_ran_waits_for_its_approval(
    engine_for: EngineFor, temporal_client: Client, task_queue: str, db: asyncpg.Connection
) -> None:
    """The run's first workflow task and the decision reach the worker together (a worker that was down or
    busy, a first task that timed out): the validator runs before the run has reached its approval. It must
    take the decision once the approval waits, not refuse it as 'not waiting' (and still check approvers)."""
    handle = await Engine(temporal_client, db, task_queue).start(
        [{**APPROVAL[0], "approvers": ["boss"]}, APPROVAL[1]]
    )
    early = asyncio.create_task(handle.execute_update("decide", Decision("review", True, by="boss")))
    intruder = asyncio.create_task(handle.execute_update("decide", Decision("review", True, by="intern")))
    await asyncio.sleep(1)  # both updates wait on the server for a worker
    async with engine_for():
        assert await asyncio.wait_for(early, 30) == {"stepId": "review", "approved": True}
        assert (await handle.result()).result == {"approved": True, "by": "boss"}
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await asyncio.wait_for(intruder, 30)
        assert "intern may not decide step 'review'" in str(caught.value.cause)


async def test_a_decision_for_an_approval_not_reached_yet_is_held_until_it_waits(
    engine_worker: Engine,
) -> None:
    """A worker replaying a run it no longer holds gets the decision with the results that bring the run back
    to its approval, and validates the decision first: whatever the run has not reached yet is held, not
    refused. Here the run is still in its delay when the decision comes."""
    handle = await engine_worker.start([{"id": "first", "type": "delay", "seconds": 1.5}, *APPROVAL])
    await _wait_for_step(handle, "first")
    answer = await handle.execute_update("decide", Decision("review", True, by="user-5"))
    assert answer == {"stepId": "review", "approved": True}
    assert (await handle.result()).result == {"approved": True, "by": "user-5"}
    state = await handle.query("state")
    assert state["steps"] == {"first": "SUCCESS", "review": "SUCCESS", "after": "SUCCESS"}
