"""Deleting a workflow or a workspace cancels their runs in flight: nothing goes on calling services for a
workflow that is gone (the runs' rows went with it: tests/worker/test_deleted_workflow.py)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError

from tests.api.test_workflows import setup, workflow


async def test_deleting_a_workflow_or_a_workspace_cancels_their_runs_in_flight(
    api_with_worker: httpx.AsyncClient, temporal_client: Client, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    base, headers = await setup(client, "deleter@example.com")
    waits = [{"id": "ask", "type": "approval", "message": "ok?", "timeoutSeconds": 3600}]
    runs: dict[str, str] = {}
    for name in ("deleted", "in workspace"):
        workflow_id = (
            await client.post(f"{base}/workflows", headers=headers, json=workflow(waits, name=name))
        ).json()["id"]
        await client.post(f"{base}/workflows/{workflow_id}/publish", headers=headers, json={})
        started = await client.post(
            f"{base}/workflows/{workflow_id}/run", headers=headers, json={"payload": {}}
        )
        assert started.status_code == 202, started.text
        runs[name] = started.json()["id"]
        if name == "deleted":
            deleted_workflow = workflow_id
    for execution_id in runs.values():  # both parked on their approval
        while (
            "ask"
            not in (await temporal_client.get_workflow_handle(f"run-{execution_id}").query("state"))[
                "waitingForDecision"
            ]
        ):
            await asyncio.sleep(0.05)

    assert (await client.delete(f"{base}/workflows/{deleted_workflow}", headers=headers)).status_code == 204
    await ended_cancelled(temporal_client, runs["deleted"])
    other = await temporal_client.get_workflow_handle(f"run-{runs['in workspace']}").describe()
    assert other.status == WorkflowExecutionStatus.RUNNING  # another workflow's run is left alone

    assert (await client.delete(base, headers=headers)).status_code == 204
    await ended_cancelled(temporal_client, runs["in workspace"])
    assert await db.fetchval("SELECT count(*) FROM workflow_executions") == 0


async def ended_cancelled(temporal_client: Client, execution_id: str) -> None:
    handle = temporal_client.get_workflow_handle(f"run-{execution_id}")
    with pytest.raises(WorkflowFailureError) as ended:
        await asyncio.wait_for(handle.result(), 20)
    assert isinstance(ended.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
