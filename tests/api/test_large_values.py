"""Large values through the API, on an S3 blob store (a local S3-speaking server): a webhook takes a body
past MAX_BODY_BYTES up to MAX_VALUE_BYTES (413 past it), its run hands the value on through the claim
check, and the run's answer shows each value past INLINE_VALUE_BYTES as a reference `{stored, size,
contentType, url}` whose URL reads it whole, with the run's access rules: another workspace gets 404."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import published_workflow, sign_up
from tests.api.test_webhooks import finished, webhook_workflow
from tests.s3_server import S3Server

LIMIT = 4 * 1024 * 1024
INLINE = 64 * 1024
COUNT = {"id": "count", "type": "set", "values": {"n": "{{ trigger.text | length }}"}}


@pytest.fixture
def settings(settings: Settings, s3_server: S3Server) -> Settings:
    return s3_server.settings(settings).model_copy(
        update={"blob_threshold_bytes": 64 * 1024, "max_value_bytes": LIMIT, "inline_value_bytes": INLINE}
    )


async def test_a_large_webhook_body_runs_and_its_values_are_references_to_read_within_the_workspace(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection, settings: Settings
) -> None:
    client = api_with_worker
    steps = [
        {"id": "copy", "type": "set", "values": {"text": "{{ trigger.body.text }}"}},
        {"id": "after", "type": "set", "values": {"n": "{{ steps.copy.output.text | length }}"}},
    ]
    base, headers, _, hook = await webhook_workflow(client, steps, None, "large-values@example.com")
    text = "ab" * 1_250_000  # 2.5 MB: past MAX_BODY_BYTES (1 MiB) and Temporal's payload limit
    assert len(text) > settings.max_body_bytes

    accepted = await client.post(f"/hooks/{hook['token']}", json={"text": text})
    assert accepted.status_code == 202, accepted.text[:300]
    execution_id = accepted.json()["executionId"]
    row = await finished(db, execution_id, timeout=60)
    assert row["status"] == "SUCCESS", row["error"]

    too_large = await client.post(f"/hooks/{hook['token']}", json={"text": "x" * (LIMIT + 1)})
    assert too_large.status_code == 413
    assert str(LIMIT) in too_large.json()["detail"]

    run = (await client.get(f"{base}/executions/{execution_id}", headers=headers)).json()
    trigger = run["triggerData"]
    assert trigger["stored"] is True
    assert trigger["contentType"] == "application/json"
    assert trigger["url"] == f"{base}/executions/{execution_id}/values/trigger"
    assert trigger["size"] > len(text)
    steps_by_id = {s["stepId"]: s for s in run["stepExecutions"]}
    copied = steps_by_id["copy"]["output"]
    assert copied["stored"] is True
    assert copied["url"].endswith(f"/values/steps/{steps_by_id['copy']['id']}/output")
    assert steps_by_id["after"]["output"] == {"n": len(text)}  # small values stay inline
    assert run["result"] == {"n": len(text)}
    listed = (await client.get(f"{base}/executions", headers=headers)).json()["items"]
    assert listed[0]["triggerData"] == trigger

    read = await client.get(copied["url"], headers=headers)
    assert read.status_code == 200
    assert read.headers["content-type"].startswith("application/json")
    assert int(read.headers["content-length"]) == copied["size"] == len(read.content)
    assert read.json() == {"text": text}
    whole = await client.get(trigger["url"], headers=headers)
    assert whole.json()["body"] == {"text": text}

    for ref in ("nothing", "steps/not-a-step/output", f"steps/{steps_by_id['copy']['id']}/state"):
        missing = await client.get(f"{base}/executions/{execution_id}/values/{ref}", headers=headers)
        assert missing.status_code == 404, ref

    # another workspace: its own URL for the run finds nothing, and the run's URL is not its own
    other = await sign_up(client, "other-large-values@example.com")
    created = await client.post("/api/v1/workspaces", json={"name": "Elsewhere"}, headers=other)
    assert created.status_code == 201, created.text
    elsewhere = f"/api/v1/workspaces/{created.json()['id']}/executions/{execution_id}/values/trigger"
    assert (await client.get(elsewhere, headers=other)).status_code == 404
    assert (await client.get(trigger["url"], headers=other)).status_code in (403, 404)


async def test_a_manual_run_takes_a_payload_as_large_as_a_value(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = api_with_worker
    body = {"name": "Manual", "triggerType": "MANUAL", "steps": [COUNT]}
    base, headers, workflow_id = await published_workflow(client, "manual-large@example.com", "M", body)
    text = "m" * 2_000_000
    started = await client.post(
        f"{base}/workflows/{workflow_id}/run", json={"payload": {"text": text}}, headers=headers
    )
    assert started.status_code == 202, started.text[:300]
    row = await finished(db, started.json()["id"], timeout=60)
    assert row["status"] == "SUCCESS", row["error"]
    refused = await client.post(
        f"{base}/workflows/{workflow_id}/run", json={"payload": {"text": "m" * LIMIT}}, headers=headers
    )
    assert refused.status_code == 413
    # any other route keeps MAX_BODY_BYTES
    other = await client.patch(f"{base}/workflows/{workflow_id}", json={"name": text}, headers=headers)
    assert other.status_code == 413


async def test_a_sync_webhook_answers_with_a_value_past_temporals_limit(
    api_with_worker: httpx.AsyncClient,
) -> None:
    steps = [{"id": "reply", "type": "respond", "status": 200, "body": "{{ trigger.body }}"}]
    config = {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 60}
    _, _, _, hook = await webhook_workflow(api_with_worker, steps, config, "sync-large@example.com")
    body = {"rows": ["r" * 1000] * 2500}  # 2.5 MB
    answer = await api_with_worker.post(f"/hooks/{hook['token']}", json=body, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json() == body
