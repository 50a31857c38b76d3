"""`GET .../executions/{id}/logs`: the run's log from the log store, in time order, filtered and paged,
with secrets redacted from what the steps received and returned."""

from __future__ import annotations

import pytest

from core.redaction import REDACTED, redact
from tests.http_server import Reply, ScriptedServer
from tests.integrations.conftest import Studio


async def test_a_runs_log_is_paged_in_time_order_filtered_and_redacted(
    studio: Studio, http_server: ScriptedServer
) -> None:
    url = http_server.script("/me", Reply(200, {"name": "Ada", "api_key": "k-123456789"}))
    workflow = await studio.publish(
        [
            {
                "id": "who",
                "type": "action",
                "action": "http.request",
                "input": {"url": url, "headers": {"Authorization": "Bearer sup3rs3cr3t-token"}},
            },
            {"id": "greet", "type": "set", "values": {"hello": "{{ steps.who.output.body.name }}"}},
            {
                "id": "boom",
                "type": "action",
                "action": "transform.parse_json",
                "input": {"text": "{"},
                "onError": "continue",
            },
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert studio.engine.logs is not None
    await studio.engine.logs.flush()
    base = f"{studio.base}/executions/{execution['id']}/logs"

    everything = (await studio.client.get(base, headers=studio.headers)).json()
    messages = [e["message"] for e in everything["items"]]
    assert messages[0] == "Execution started"
    assert messages[-1] == "Execution finished: SUCCESS"
    assert "Step 'who' completed successfully" in messages
    assert "Step 'greet' completed successfully" in messages
    stamps = [e["timestamp"] for e in everything["items"]]
    assert stamps == sorted(stamps)
    who = next(
        e for e in everything["items"] if e["stepId"] == "who" and e["metadata"]["status"] == "SUCCESS"
    )
    assert who["metadata"]["duration"] >= 0
    assert who["metadata"]["input"]["headers"]["Authorization"] == REDACTED
    assert who["metadata"]["output"]["body"] == {"name": "Ada", "api_key": REDACTED}
    assert "sup3rs3cr3t" not in str(everything)

    only_greet = (await studio.client.get(base, headers=studio.headers, params={"stepId": "greet"})).json()
    assert [e["stepId"] for e in only_greet["items"]] == ["greet"]

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        got = (await studio.client.get(base, headers=studio.headers, params=params)).json()
        pages.append([e["id"] for e in got["items"]])
        cursor = got["nextCursor"]
        if cursor is None:
            break
    assert [i for p in pages for i in p] == [e["id"] for e in everything["items"]]
    assert all(len(p) <= 2 for p in pages)

    bad_cursor = await studio.client.get(base, headers=studio.headers, params={"cursor": "%%%"})
    assert (bad_cursor.status_code, bad_cursor.json()["path"]) == (400, "cursor")
    bad_level = await studio.client.get(base, headers=studio.headers, params={"level": "loud"})
    assert bad_level.status_code == 422
    missing = await studio.client.get(f"{studio.base}/executions/nope/logs", headers=studio.headers)
    assert missing.status_code == 404


async def test_failed_steps_are_logged_as_errors(studio: Studio) -> None:
    workflow = await studio.publish(
        [{"id": "bad", "type": "action", "action": "transform.parse_json", "input": {"text": "{"}}]
    )
    execution = await studio.run(workflow)
    assert studio.engine.logs is not None
    await studio.engine.logs.flush()
    errors = (
        await studio.client.get(
            f"{studio.base}/executions/{execution['id']}/logs",
            headers=studio.headers,
            params={"level": "error"},
        )
    ).json()["items"]
    assert [e["stepId"] for e in errors] == ["bad", None]
    assert "not JSON" in errors[0]["message"]
    shouted = await studio.client.get(
        f"{studio.base}/executions/{execution['id']}/logs", headers=studio.headers, params={"level": "ERROR"}
    )
    assert shouted.json()["items"] == errors  # any case
    assert errors[1]["message"].startswith("Execution finished: FAILED")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"password": "hunter2", "user": "ada"}, {"password": REDACTED, "user": "ada"}),
        ({"headers": {"X-Api-Key": "k"}}, {"headers": {"X-Api-Key": REDACTED}}),
        ("token xoxb-1234567890-abcdef here", f"token {REDACTED} here"),
        ("postgresql://ada:hunter2@db:5432/x", f"postgresql://ada:{REDACTED}@db:5432/x"),
        (["ghp_" + "a" * 36], [REDACTED]),
        ({"tokens_used": None}, {"tokens_used": None}),
    ],
)
def test_redaction_hides_secret_keys_and_secret_shaped_values(value: object, expected: object) -> None:
    assert redact(value) == expected
