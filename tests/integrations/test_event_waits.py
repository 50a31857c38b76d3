"""Waiting for an event end to end: `wait` steps resumed by POST /workspaces/{id}/events when their `match`
accepts the event (every run waiting for it, and only those), the same event sent again resuming nothing
twice, an event sent before the run waits not kept, timeouts (continue or fail), a wait that outlives a
worker restart, and bad bodies answered 422 naming the field. Records the replay guard's histories of the
paths (tests/worker/histories/paths/wait_event.json, wait_event_timeout.json)."""

from __future__ import annotations

from typing import Any

from tests.integrations.conftest import Restartable, Studio, live_is
from tests.worker.recording import HISTORIES, recording

PAID: list[dict[str, Any]] = [
    {
        "id": "paid",
        "type": "wait",
        "event": "order.paid",
        "match": "{{ event.data.orderId == trigger.orderId }}",
    },
    {"id": "after", "type": "set", "values": {"amount": "{{ steps.paid.output.data.amount }}"}},
]


async def send(studio: Studio, name: str, data: Any, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "data": data}
    if key:
        body["idempotencyKey"] = key
    sent = await studio.client.post(f"{studio.base}/events", headers=studio.headers, json=body)
    assert sent.status_code == 202, sent.text
    answer: dict[str, Any] = sent.json()
    return answer


async def waiting(studio: Studio, execution_id: str) -> None:
    assert await studio.until(execution_id, live_is("waiting")), f"{execution_id} never waited"


async def test_an_event_resumes_every_run_whose_match_accepts_it_and_only_those(studio: Studio) -> None:
    workflow_id = await studio.publish(PAID)
    first, second, other = [await studio.start(workflow_id, {"orderId": n}) for n in (1, 1, 2)]
    for execution_id in (first, second, other):
        await waiting(studio, execution_id)

    answer = await send(studio, "order.paid", {"orderId": 1, "amount": 42}, key="pay-1")
    assert answer["waiting"] == 3
    assert answer["resumed"] == sorted([first, second])
    for execution_id in (first, second):
        done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
        assert done, execution_id
        assert done["steps"]["paid"]["output"]["data"] == {"orderId": 1, "amount": 42}
        assert done["steps"]["paid"]["output"]["timedOut"] is False
        assert done["steps"]["after"]["output"] == {"amount": 42}
    assert (await studio.execution(other))["status"] == "RUNNING"

    other_event = await send(studio, "order.shipped", {"orderId": 2})
    assert (other_event["waiting"], other_event["resumed"]) == (0, [])
    assert (await send(studio, "order.paid", {"orderId": 2, "amount": 7}))["resumed"] == [other]
    assert await studio.until(other, lambda e: e["status"] == "SUCCESS")


async def test_the_same_event_sent_again_resumes_no_step_of_a_run_twice(studio: Studio) -> None:
    twice: list[dict[str, Any]] = [
        {"id": "first", "type": "wait", "event": "ping"},
        {"id": "second", "type": "wait", "event": "ping", "timeoutSeconds": 60},
    ]
    execution_id = await studio.start(await studio.publish(twice))
    await waiting(studio, execution_id)
    assert (await send(studio, "ping", {"n": 1}, key="k-1"))["resumed"] == [execution_id]
    found = await studio.until(execution_id, lambda e: e["steps"].get("second", {}).get("state") is not None)
    assert found, "the second wait never began"
    again = await send(studio, "ping", {"n": 1}, key="k-1")
    assert again["resumed"] == []  # the run took this event already
    assert (await studio.execution(execution_id))["status"] == "RUNNING"
    assert (await send(studio, "ping", {"n": 2}, key="k-2"))["resumed"] == [execution_id]
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done
    assert done["steps"]["second"]["output"]["data"] == {"n": 2}


async def test_an_event_sent_before_the_run_waits_is_not_kept(studio: Studio) -> None:
    late: list[dict[str, Any]] = [
        {"id": "ask", "type": "approval", "message": "go on?"},
        {"id": "paid", "type": "wait", "event": "order.paid"},
    ]
    execution_id = await studio.start(await studio.publish(late))
    await waiting(studio, execution_id)  # on the approval
    early = await send(studio, "order.paid", {"early": True})
    assert (early["waiting"], early["resumed"]) == (0, [])
    decided = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/steps/ask/decision",
        headers=studio.headers,
        json={"approved": True},
    )
    assert decided.status_code == 200, decided.text
    found = await studio.until(execution_id, lambda e: e["steps"].get("paid", {}).get("state") is not None)
    assert found, "the wait step never began"
    assert (await send(studio, "order.paid", {"early": False}))["resumed"] == [execution_id]
    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
    assert done
    assert done["steps"]["paid"]["output"]["data"] == {"early": False}


async def test_a_wait_that_times_out_continues_or_fails_as_it_says(studio: Studio) -> None:
    go_on = [{"id": "paid", "type": "wait", "event": "never", "timeoutSeconds": 1, "onTimeout": "continue"}]
    execution = await studio.run(await studio.publish(go_on))
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["paid"]["output"]["timedOut"] is True
    give_up = [{"id": "paid", "type": "wait", "event": "never", "timeoutSeconds": 1}]
    execution = await studio.run(await studio.publish(give_up))
    assert execution["status"] == "FAILED"
    assert "no event 'never' came within 1 s" in execution["error"]


async def test_a_waiting_run_outlives_a_worker_restart(restartable: Restartable) -> None:
    async with restartable.worker() as engine:
        studio = restartable.studio(engine)
        workflow_id = await studio.publish(PAID)
        execution_id = await studio.start(workflow_id, {"orderId": 9})
        await waiting(studio, execution_id)
    async with restartable.worker() as engine:
        studio = restartable.studio(engine)
        assert (await send(studio, "order.paid", {"orderId": 9, "amount": 3}))["resumed"] == [execution_id]
        done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS")
        assert done
        assert done["steps"]["after"]["output"] == {"amount": 3}


async def test_a_bad_event_is_refused_naming_the_field(studio: Studio) -> None:
    for body, path in (
        ({"name": "has spaces"}, "name"),
        ({"data": {}}, "name"),
        ({"name": "x", "idempotencyKey": ""}, "idempotencyKey"),
        ({"name": "x", "colour": "red"}, "colour"),
    ):
        sent = await studio.client.post(f"{studio.base}/events", headers=studio.headers, json=body)
        assert sent.status_code == 422, sent.text
        assert sent.json()["path"] == path, sent.json()


async def test_a_wait_step_without_an_event_or_inside_a_loop_is_refused_on_save(studio: Studio) -> None:
    in_loop = {
        "id": "each",
        "type": "loop",
        "items": "{{ [1, 2] }}",
        "steps": [{"id": "w", "type": "wait", "event": "x"}],
    }
    for steps, path in (
        ([{"id": "w", "type": "wait", "event": ""}], "steps[0].event"),
        ([in_loop], "steps[0].steps[0]"),  # its iterations would share the step's id: one could wait for ever
    ):
        body = {"name": "w", "triggerType": "MANUAL", "steps": steps}
        created = await studio.client.post(f"{studio.base}/workflows", headers=studio.headers, json=body)
        assert created.status_code == 422, created.text
        assert created.json()["path"] == path, created.json()


async def record(studio: Studio, steps: list[dict[str, Any]], send_event: bool) -> str:
    workflow_id = await studio.publish(steps)
    handle = await studio.engine.start(steps, {"orderId": 5}, workflow_id=workflow_id)
    if send_event:
        execution_id = handle.id.removeprefix("run-")
        await waiting(studio, execution_id)
        assert (await send(studio, "order.paid", {"orderId": 5, "amount": 1}))["resumed"] == [execution_id]
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    return str((await handle.fetch_history()).to_json())


@recording
async def test_record_a_run_resumed_by_an_event(studio: Studio) -> None:
    (HISTORIES / "paths" / "wait_event.json").write_text(await record(studio, PAID, send_event=True))


@recording
async def test_record_a_run_whose_wait_times_out(studio: Studio) -> None:
    steps = [{"id": "paid", "type": "wait", "event": "x", "timeoutSeconds": 1, "onTimeout": "continue"}]
    (HISTORIES / "paths" / "wait_event_timeout.json").write_text(
        await record(studio, steps, send_event=False)
    )
