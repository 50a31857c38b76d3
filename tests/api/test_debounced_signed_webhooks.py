"""A signed call to a debounced webhook is replay-protected like any signed call: sent again, it is answered
as a replay and does not join the burst (a GitHub signature carries no time, so a captured call would
otherwise put the run off and replace its trigger for ever)."""

from __future__ import annotations

import json

import asyncpg
import httpx

from tests.api.test_webhook_signatures import JSON, hex_hmac
from tests.api.test_webhooks import Hooked
from tests.integrations.conftest import eventually

DEBOUNCED = {"methods": ["POST"], "mode": "async", "debounce": {"seconds": 1}}
SECRET = "github-webhook-secret"


def github(body: bytes) -> dict[str, str]:
    return {**JSON, "X-Hub-Signature-256": "sha256=" + hex_hmac(SECRET, body), "X-GitHub-Event": "push"}


async def test_a_github_signed_call_to_a_debounced_webhook_is_refused_as_a_replay(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker, config=DEBOUNCED)
    assert (await hooked.put_secret({"scheme": "github", "secret": SECRET})).status_code == 200
    client, url, workflow_id = hooked.client, hooked.url, hooked.workflow_id
    body = b'{"name": "Ada"}'

    first = await client.post(url, content=body, headers=github(body))
    assert first.status_code == 202, first.text
    assert first.json()["debounced"] is True
    assert "Idempotent-Replayed" not in first.headers
    replay = await client.post(url, content=body, headers=github(body))
    assert replay.status_code == 202, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["replayed"] is True
    assert replay.json()["executionId"] is None  # the burst's run starts later
    # unsigned or wrongly signed calls are still refused before anything else
    assert (await client.post(url, content=body, headers=JSON)).status_code == 401

    async def ran() -> list[asyncpg.Record] | None:
        rows = await db.fetch(
            "SELECT trigger_data FROM workflow_executions WHERE workflow_id = $1", workflow_id
        )
        return rows or None

    rows = await eventually(ran)
    assert rows is not None
    assert len(rows) == 1
    assert json.loads(rows[0]["trigger_data"])["debounce"]["events"] == 1  # the replay did not join the burst

    # a new call (another body, another signature) is a new call
    other = b'{"name": "Grace"}'
    again = await client.post(url, content=other, headers=github(other))
    assert (again.status_code, again.json()["replayed"]) == (202, False)
