"""The interpreter runs pure steps and actions, and records what happened."""

from __future__ import annotations

from tests.engine import Engine, output
from tests.http_server import Reply, ScriptedServer


async def test_a_webhook_style_definition_runs_and_is_recorded(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    url = http_server.script("/people/ada@example.com", Reply(200, {"tier": "gold"}))
    steps = [
        {
            "id": "lookup",
            "type": "action",
            "action": "http.request",
            "name": "Look the person up",
            "input": {"method": "GET", "url": http_server.base_url + "/people/{{ trigger.body.email }}"},
        },
        {
            "id": "vip",
            "type": "condition",
            "if": "{{ steps.lookup.output.body.tier == 'gold' }}",
            "then": [
                {"id": "greet", "type": "set", "values": {"greeting": "Welcome, {{ trigger.body.email }}"}}
            ],
        },
    ]
    handle = await engine_worker.start(steps, {"body": {"email": "ada@example.com"}})
    result = await handle.result()
    assert result.status == "SUCCESS"
    assert result.result == {"greeting": "Welcome, ada@example.com"}
    assert len(http_server.hits("/people/ada@example.com")) == 1
    assert url.endswith("/people/ada@example.com")

    execution = await engine_worker.execution(handle)
    assert execution["status"] == "SUCCESS"
    assert execution["duration"] is not None
    assert execution["completed_at"] >= execution["started_at"]
    rows = await engine_worker.step_rows(handle)
    assert set(rows) == {"lookup", "vip", "greet"}
    assert output(rows["lookup"])["body"] == {"tier": "gold"}
    assert output(rows["vip"]) == {"result": True}
    assert all(row["status"] == "SUCCESS" for row in rows.values())
    counters = await engine_worker.db.fetchrow(
        "SELECT total_executions, successful_executions, failed_executions, last_executed_at FROM workflows "
        "WHERE id = $1",
        execution["workflow_id"],
    )
    assert tuple(counters)[:3] == (1, 1, 0)
    assert counters["last_executed_at"] is not None
