"""Signed webhooks end to end: a call cannot be altered, replayed or extended with a query string, and only
calls whose signature passes are counted; GitHub's, Stripe's and Slack's own schemes, chosen per webhook."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import httpx
from standardwebhooks.webhooks import Webhook

from tests.api.test_webhooks import Hooked, executions, finished

RAW = b'{"name": "Ada"}'
JSON = {"Content-Type": "application/json"}


def standard_headers(
    secret: str, body: bytes, message_id: str | None = None, at: float | None = None
) -> dict[str, str]:
    """What a Standard Webhooks sender sends, signed by the reference library."""
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    stamp = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    return {
        **JSON,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, stamp, body.decode()),
    }


def hex_hmac(secret: str, content: bytes) -> str:
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


async def test_a_standard_webhooks_call_cannot_be_altered_replayed_or_extended(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    client, base, headers, hook = hooked.client, hooked.base, hooked.headers, hooked.hook
    rotated = await client.post(f"{base}/webhooks/{hook['id']}/rotate-secret", headers=headers)
    assert rotated.status_code == 201
    made = rotated.json()
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert (made["signatureScheme"], made["signatureHeader"]) == ("standard", "webhook-signature")
    listed = await hooked.listed()
    assert (listed["hasSecret"], listed["signatureScheme"]) == (True, "standard")
    assert secret not in str(listed)
    assert secret not in str(await db.fetchval("SELECT secret FROM webhooks WHERE id = $1", hook["id"]))
    url = f"/hooks/{hook['token']}"

    signed = standard_headers(secret, RAW)
    refused = {
        "unsigned": await client.post(url, content=RAW, headers=JSON),
        "wrong secret": await client.post(
            url, content=RAW, headers=standard_headers("whsec_" + "QUJD" * 8, RAW)
        ),
        "altered body": await client.post(url, content=b'{"name": "Eve"}', headers=signed),
        "another id": await client.post(url, content=RAW, headers={**signed, "webhook-id": "msg_other"}),
        "an hour old": await client.post(
            url, content=RAW, headers=standard_headers(secret, RAW, at=time.time() - 3600)
        ),
    }
    for why, response in refused.items():
        assert response.status_code == 401, (why, response.text)
        assert response.json()["error"] == "unauthenticated"
    assert "webhook-signature" in refused["altered body"].json()["detail"]
    assert "accepted within 300 s" in refused["an hour old"].json()["detail"]
    # no signature covers the URL: a query string added to a signed call is refused, not passed on
    extended = await client.post(f"{url}?admin=true", content=RAW, headers=signed)
    assert extended.status_code == 400
    assert (extended.json()["error"], extended.json()["path"]) == ("unsigned_query", "query")
    assert await executions(db, hooked.workflow_id) == 0
    assert (await hooked.listed())["totalCalls"] == 0  # refused calls are not counted

    first = await client.post(url, content=RAW, headers=signed)
    assert first.status_code == 202, first.text
    # the captured call sent again: the first run's id, nothing started
    replay = await client.post(url, content=RAW, headers=signed)
    assert replay.status_code == 202
    assert replay.json()["executionId"] == first.json()["executionId"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    # a sender's own Idempotency-Key does not let a replay through
    again = await client.post(url, content=RAW, headers={**signed, "Idempotency-Key": "fresh"})
    assert again.json()["executionId"] == first.json()["executionId"]
    row = await finished(db, first.json()["executionId"])
    assert row["status"] == "SUCCESS"
    assert await executions(db, hooked.workflow_id) == 1
    assert (await hooked.listed())["totalCalls"] == 3

    # rotating: the old secret stops at once; removing the secret makes the webhook unsigned again
    second = (await client.post(f"{base}/webhooks/{hook['id']}/rotate-secret", headers=headers)).json()
    assert (await client.post(url, content=RAW, headers=standard_headers(secret, RAW))).status_code == 401
    good = await client.post(url, content=RAW, headers=standard_headers(second["secret"], RAW))
    assert good.status_code == 202
    assert (await client.delete(f"{base}/webhooks/{hook['id']}/secret", headers=headers)).status_code == 204
    assert (await client.post(f"{url}?q=1", content=RAW, headers=JSON)).status_code == 202
    listed = await hooked.listed()
    assert (listed["hasSecret"], listed["signatureScheme"]) == (False, None)
    assert await executions(db, hooked.workflow_id) == 3


async def test_github_stripe_and_slack_calls_are_verified_with_the_sender_s_own_secret(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    client, url = hooked.client, hooked.url
    now = int(time.time())
    calls: dict[str, tuple[str, Callable[[str], dict[str, str]], str]] = {
        "github": (
            "github-webhook-secret",
            lambda s: {**JSON, "X-Hub-Signature-256": "sha256=" + hex_hmac(s, RAW), "X-GitHub-Event": "push"},
            "X-Hub-Signature-256",
        ),
        "stripe": (
            "whsec_stripe_signing_secret",
            lambda s: {**JSON, "Stripe-Signature": f"t={now},v1={hex_hmac(s, f'{now}.'.encode() + RAW)}"},
            "Stripe-Signature",
        ),
        "slack": (
            "8f742231b10e8888abcd99yyyzzz85a5",
            lambda s: {
                **JSON,
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": "v0=" + hex_hmac(s, f"v0:{now}:".encode() + RAW),
            },
            "X-Slack-Signature",
        ),
        "baton-v1": (
            "whsec_made_before_standard_webhooks",
            lambda s: {**JSON, "X-Baton-Signature": "sha256=" + hex_hmac(s, RAW)},
            "X-Baton-Signature",
        ),
    }
    started = 0
    for scheme, (secret, sign, header) in calls.items():
        answer = await hooked.put_secret({"scheme": scheme, "secret": secret})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "webhookId": hooked.hook["id"],
            "signatureScheme": scheme,
            "signatureHeader": header,
        }
        listed = await hooked.listed()
        assert listed["signatureScheme"] == scheme
        wrong = await client.post(url, content=RAW, headers=sign("not-the-secret"))
        assert wrong.status_code == 401, scheme
        assert header in wrong.json()["detail"]
        altered = await client.post(url, content=b'{"name": "Eve"}', headers=sign(secret))
        assert altered.status_code == 401, scheme
        accepted = await client.post(url, content=RAW, headers=sign(secret))
        assert accepted.status_code == 202, (scheme, accepted.text)
        started += 1
        replay = await client.post(url, content=RAW, headers=sign(secret))
        assert replay.json()["executionId"] == accepted.json()["executionId"], scheme
        assert (await finished(db, accepted.json()["executionId"]))["status"] == "SUCCESS"
    assert await executions(db, hooked.workflow_id) == started

    # a Stripe call signed a while ago is refused even with the right secret
    await hooked.put_secret({"scheme": "stripe", "secret": "whsec_stripe_signing_secret"})
    old = now - 600
    stale = {
        **JSON,
        "Stripe-Signature": f"t={old},v1={hex_hmac('whsec_stripe_signing_secret', f'{old}.'.encode() + RAW)}",
    }
    response = await client.post(url, content=RAW, headers=stale)
    assert response.status_code == 401
    assert "Stripe-Signature's t is" in response.json()["detail"]


async def test_a_secret_that_cannot_sign_is_refused_with_its_field(
    api_with_worker: httpx.AsyncClient,
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    for body, path in (
        ({"scheme": "standard", "secret": "whsec_not base64 at all"}, "secret"),
        ({"scheme": "md5", "secret": "long enough"}, "scheme"),
        ({"scheme": "github", "secret": "short"}, "secret"),
        ({"secret": "long enough"}, "scheme"),
    ):
        response = await hooked.put_secret(body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["path"] == path
        assert body.get("secret", "-") not in response.text
    listed = await hooked.listed()
    assert listed["hasSecret"] is False
