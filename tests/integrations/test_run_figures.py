"""A run's figures are the truth (issue: every run tells the truth about where it is): a step's
`retryCount` is its attempts less one, `startedAt` its first attempt, `completedAt` its last, `error` the
last attempt's, and the run's `completedAt`/`duration` run to its real end, even when the attempts are
retried inside one workflow task (where the interpreter's clock stands still). While a run works, its
`live` says what it is doing: a step retrying (attempt n of m, last error, next attempt at), waiting on
its connection's rate limit; every step has a row from the moment it starts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio, live_is


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def call(step_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "action", "action": "http.request", "input": {"url": url}, **extra}


RETRY = {"maxAttempts": 3, "initialIntervalSeconds": 0.6, "backoffCoefficient": 2}  # attempts at 0, .6, 1.8 s


async def test_a_step_that_fails_every_attempt_shows_its_attempts_its_span_and_its_last_error(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/down", Reply(500, "one"), Reply(502, "two"), Reply(503, "three"))
    execution = await studio.run(await studio.publish([call("fetch", url, retry=RETRY)]))
    assert execution["status"] == "FAILED"
    step = execution["steps"]["fetch"]
    first, _, last = http_server.hits("/down")
    assert step["retryCount"] == 2
    assert "503" in step["error"]  # the last attempt's
    span = last.at - first.at  # >= 1.8 s between the first and the last attempt
    assert step["duration"] >= span * 1000 - 50
    assert at(step["completedAt"]) >= at(step["startedAt"])
    assert step["state"] is None  # it has ended
    # the run ends after its last step, and lasts at least as long
    assert at(execution["completedAt"]) >= at(step["completedAt"])
    assert execution["duration"] >= step["duration"]
    assert execution["live"] is None


async def test_a_step_that_succeeds_after_retries_and_its_run_agree_on_the_time(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/flaky", Reply(500, "no"), Reply(500, "no"), Reply(200, {"ok": True}))
    execution = await studio.run(await studio.publish([call("fetch", url, retry=RETRY)]))
    assert execution["status"] == "SUCCESS", execution["error"]
    step = execution["steps"]["fetch"]
    assert step["retryCount"] == 2
    assert step["duration"] >= 1700
    assert execution["duration"] >= step["duration"]
    assert at(execution["completedAt"]) >= at(step["completedAt"])


async def test_a_retrying_step_says_so_while_it_waits_for_its_next_attempt(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/slow-to-heal", Reply(500, "not yet"), Reply(200, {"ok": True}))
    workflow = await studio.publish(
        [
            {"id": "before", "type": "set", "values": {"a": 1}},
            call("fetch", url, retry={"maxAttempts": 5, "initialIntervalSeconds": 4}),
        ]
    )
    started = await studio.client.post(
        f"{studio.base}/workflows/{workflow}/run", headers=studio.headers, json={"payload": {}}
    )
    assert started.status_code == 202, started.text
    execution_id = started.json()["id"]
    assert started.json()["executionId"] == execution_id  # as API.md names it

    execution = await studio.until(execution_id, live_is("retrying"), timeout=15)
    assert execution, "the run never said it was retrying"
    (step,) = execution["live"]["steps"]
    assert (step["stepId"], step["kind"], step["attempt"], step["maxAttempts"]) == ("fetch", "retrying", 1, 5)
    assert "500" in step["lastError"]
    assert at(step["nextAttemptAt"]) > at(step["since"])
    row = execution["steps"]["fetch"]
    assert (row["status"], row["state"]["kind"]) == ("RUNNING", "retrying")
    assert execution["steps"]["before"]["status"] == "SUCCESS"  # written when the action's attempt began
    # the list filters on it
    listed = await studio.client.get(
        f"{studio.base}/executions", headers=studio.headers, params={"state": "retrying"}
    )
    assert [e["id"] for e in listed.json()["items"]] == [execution_id]
    waiting = await studio.client.get(
        f"{studio.base}/executions", headers=studio.headers, params={"state": "waiting"}
    )
    assert waiting.json()["items"] == []

    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS", timeout=30)
    assert done, "the run did not end"
    assert done["live"] is None
    assert done["steps"]["fetch"]["state"] is None
    assert done["steps"]["fetch"]["retryCount"] == 1


async def test_a_rate_limited_step_says_when_it_resumes_and_its_span_includes_the_wait(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/items", Reply(200, {"ok": True}))
    connection = await studio.connect(
        "http", {"type": "bearer", "token": "t"}, rate_limit={"limit": 1, "windowSeconds": 3}
    )
    fetch = {**call("fetch", url), "connectionId": connection, "retry": {"maxAttempts": 1}}
    workflow = await studio.publish(
        [{**fetch, "id": "first"}, {**fetch, "id": "second"}]  # the second waits for the next window
    )
    execution_id = await studio.start(workflow)

    execution = await studio.until(execution_id, live_is("rateLimited"), timeout=15)
    assert execution, "the run never said it waited for its rate limit"
    (step,) = execution["live"]["steps"]
    assert step["stepId"] == "second"
    assert at(step["resumesAt"]) > at(step["since"])

    done = await studio.until(execution_id, lambda e: e["status"] == "SUCCESS", timeout=30)
    assert done, "the run did not end"
    second = done["steps"]["second"]
    assert second["retryCount"] == 0  # waiting for the window is no retry
    first_call, second_call = http_server.hits("/items")
    assert second["duration"] >= (second_call.at - first_call.at) * 1000 - 500
    assert done["duration"] >= second["duration"]


async def test_the_timeline_lists_steps_as_they_ran_loops_and_branches_placed_in_the_definition(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/item", Reply(200, {"ok": True}))
    workflow = await studio.publish(
        [
            {"id": "start", "type": "set", "values": {"n": 2}},
            {
                "id": "each",
                "type": "loop",
                "items": "{{ [10, 20] }}",
                "steps": [{**call("fetch", url), "name": "Fetch item"}],
            },
            {
                "id": "check",
                "type": "condition",
                "if": "{{ vars.n > 1 }}",
                "then": [{"id": "many", "type": "set", "values": {"many": True}}],
                "else": [{"id": "few", "type": "set", "values": {"many": False}}],
            },
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    answer = await studio.client.get(
        f"{studio.base}/executions/{execution['id']}/timeline", headers=studio.headers
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    order = [(i["key"], i["depth"]) for i in items]
    assert order == [  # a step that holds others starts before them
        ("start", 0),
        ("each", 0),
        ("fetch/0", 1),
        ("fetch/1", 1),
        ("check", 0),
        ("many", 1),
    ], order
    fetches = [i for i in items if i["stepId"] == "fetch"]
    assert [i["iteration"] for i in fetches] == [[0], [1]]
    assert {(i["parentStepId"], i["branch"], i["name"], i["attempts"]) for i in fetches} == {
        ("each", "steps", "Fetch item", 1)
    }
    check = next(i for i in items if i["stepId"] == "check")
    assert check["branchTaken"] == "then"
    many = next(i for i in items if i["stepId"] == "many")
    assert (many["parentStepId"], many["branch"]) == ("check", "then")
    assert answer.json()["live"] is None


async def test_a_resumed_run_has_its_own_true_figures(studio: Studio, http_server: ScriptedServer) -> None:
    first = http_server.script("/first", Reply(200, {"ok": 1}))
    second = http_server.script("/second", Reply(500, "down"), Reply(500, "down"), Reply(200, {"ok": 2}))
    workflow = await studio.publish(
        [
            call("one", first),
            call("two", second, retry={"maxAttempts": 2, "initialIntervalSeconds": 0.5}),
        ]
    )
    failed = await studio.run(workflow)
    assert failed["status"] == "FAILED"
    assert failed["steps"]["two"]["retryCount"] == 1
    resumed = await studio.client.post(
        f"{studio.base}/executions/{failed['id']}/resume", headers=studio.headers, json={}
    )
    assert resumed.status_code in (200, 201, 202), resumed.text
    execution_id = resumed.json()["id"]

    done = await studio.until(execution_id, lambda e: e["status"] not in ("PENDING", "RUNNING"), timeout=30)
    assert done, "the resumed run did not end"
    assert done["status"] == "SUCCESS", done["error"]
    assert "one" not in done["steps"]  # reused, not run again
    assert len(http_server.hits("/first")) == 1
    two = done["steps"]["two"]
    assert (two["status"], two["retryCount"], two["attempts"]) == ("SUCCESS", 0, 1)
    assert at(done["completedAt"]) >= at(two["completedAt"])
    assert done["duration"] >= two["duration"]
