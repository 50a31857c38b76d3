"""A run's steps come back over the API in the order they began, with their sequence: the execution's
`stepExecutions` and its timeline (which `baton runs show` draws), a condition before its branch's step."""

from __future__ import annotations

import httpx

from tests.api.test_workflows import setup, workflow
from tests.worker.test_run_order import IN_RUN_ORDER, RUN_ORDER


async def test_step_executions_and_the_timeline_come_in_run_order(api_with_worker: httpx.AsyncClient) -> None:
    client = api_with_worker
    base, headers = await setup(client)
    workflow_id = (await client.post(f"{base}/workflows", headers=headers, json=workflow(RUN_ORDER))).json()[
        "id"
    ]
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    done = await client.post(
        f"{base}/workflows/{workflow_id}/run?wait=true", headers=headers, json={"payload": {}}
    )
    assert done.json()["status"] == "SUCCESS", done.text
    execution_id = done.json()["id"]
    detail = (await client.get(f"{base}/executions/{execution_id}", headers=headers)).json()
    assert [s["stepKey"] for s in detail["stepExecutions"]] == IN_RUN_ORDER
    assert [s["sequence"] for s in detail["stepExecutions"]] == list(range(1, len(IN_RUN_ORDER) + 1))
    assert detail["stepExecutions"][1]["branchTaken"] == "then"
    timeline = (await client.get(f"{base}/executions/{execution_id}/timeline", headers=headers)).json()
    assert [item["key"] for item in timeline["items"]] == IN_RUN_ORDER
