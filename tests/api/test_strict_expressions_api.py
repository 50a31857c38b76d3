"""`strictExpressions` through the API: off by default, turned on by PATCH for the runs that start after it,
`null` refused naming the field (tests/worker/test_strict_expressions.py has the interpreter's side)."""

from __future__ import annotations

import httpx

from tests.api.test_workflows import setup, workflow
from tests.worker.test_strict_expressions import PICK


async def test_the_api_turns_strict_expressions_on_for_the_runs_that_start_after(
    api_with_worker: httpx.AsyncClient,
) -> None:
    client = api_with_worker
    base, headers = await setup(client, "strict@example.com")
    created = await client.post(f"{base}/workflows", headers=headers, json=workflow(PICK))
    assert created.status_code == 201, created.text
    assert created.json()["strictExpressions"] is False
    workflow_id = created.json()["id"]
    await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
    run = f"{base}/workflows/{workflow_id}/run?wait=true"
    lenient = await client.post(run, headers=headers, json={"payload": {"contact": {}}})
    assert lenient.json()["status"] == "SUCCESS", lenient.text
    refused = await client.patch(
        f"{base}/workflows/{workflow_id}", headers=headers, json={"strictExpressions": None}
    )
    assert refused.status_code == 422
    assert "strictExpressions" in refused.text
    turned = await client.patch(
        f"{base}/workflows/{workflow_id}", headers=headers, json={"strictExpressions": True}
    )
    assert turned.json()["strictExpressions"] is True
    strict = await client.post(run, headers=headers, json={"payload": {"contact": {}}})
    assert strict.json()["status"] == "FAILED", strict.text
    assert "trigger.contact.nmae is undefined" in strict.text
