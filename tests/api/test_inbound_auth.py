"""Inbound auth that senders use, end to end: basic auth, a token in a named header and a generic HMAC
(Shopify's, and a timestamped one) start runs only with the right credential, replays are answered with the
first run where the scheme allows one, and settings that cannot work are refused naming their field."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import asyncpg
import httpx

from tests.api.test_webhook_signatures import JSON
from tests.api.test_webhooks import Hooked, executions, finished

RAW = b'{"name": "Ada"}'
PASSWORD = "n8Vq-2kLr_Zp7Wx4Ty9"
TOKEN = "tok_5fK2mQ9vR7xL3pZ8wN4b"
# Shopify signs the raw body with the app's client secret (shpss_ and 32 hex digits).
SHOPIFY_SECRET = "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"
SHOPIFY_ORDER = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","name":"Ada"}'


def basic(user: str, password: str) -> dict[str, str]:
    return {**JSON, "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def shopify_hmac(secret: str, data: bytes) -> str:
    """Shopify's documented verification: base64 of the HMAC-SHA256 of the raw body with the app's secret."""
    digest = hmac.new(secret.encode("utf-8"), data, digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


async def trigger_of(db: asyncpg.Connection, execution_id: str) -> dict[str, Any]:
    row = await finished(db, execution_id)
    assert row["status"] == "SUCCESS"
    return dict(json.loads(row["trigger_data"]))


async def test_a_basic_auth_webhook_starts_runs_only_for_its_user_and_password(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    client, url = hooked.client, hooked.url
    answer = await hooked.put_secret({"scheme": "basic", "username": "shop-sender", "secret": PASSWORD})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "webhookId": hooked.hook["id"],
        "signatureScheme": "basic",
        "signatureHeader": "Authorization",
    }
    assert PASSWORD not in str(
        await db.fetchval("SELECT secret FROM webhooks WHERE id = $1", hooked.hook["id"])
    )
    listed = await hooked.listed()
    assert (listed["hasSecret"], listed["signatureScheme"]) == (True, "basic")
    assert PASSWORD not in str(listed)

    refused = {
        "missing": await client.post(url, content=RAW, headers=JSON),
        "wrong password": await client.post(url, content=RAW, headers=basic("shop-sender", PASSWORD + "x")),
        "wrong user": await client.post(url, content=RAW, headers=basic("someone", PASSWORD)),
        "bearer": await client.post(
            url, content=RAW, headers={**JSON, "Authorization": f"Bearer {PASSWORD}"}
        ),
        "not base64": await client.post(url, content=RAW, headers={**JSON, "Authorization": "Basic %%%"}),
        "no colon": await client.post(
            url, content=RAW, headers={**JSON, "Authorization": "Basic " + base64.b64encode(b"x").decode()}
        ),
    }
    for why, response in refused.items():
        assert response.status_code == 401, (why, response.text)
        assert response.json()["error"] == "unauthenticated"
        assert "Authorization" in response.json()["detail"]
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert PASSWORD not in response.text
    assert await executions(db, hooked.workflow_id) == 0
    assert (await hooked.listed())["totalCalls"] == 0  # refused calls are not counted

    # the credential vouches for the whole call, so a query string is allowed
    accepted = await client.post(f"{url}?source=shop", content=RAW, headers=basic("shop-sender", PASSWORD))
    assert accepted.status_code == 202, accepted.text
    trigger = await trigger_of(db, accepted.json()["executionId"])
    assert trigger["query"] == {"source": "shop"}
    assert "authorization" not in trigger["headers"]
    # nothing in a basic call is unique to it: a repeat is a new run, unless the sender's Idempotency-Key says
    again = await client.post(url, content=RAW, headers=basic("shop-sender", PASSWORD))
    assert again.json()["executionId"] != accepted.json()["executionId"]
    keyed = {**basic("shop-sender", PASSWORD), "Idempotency-Key": "order-7"}
    first = await client.post(url, content=RAW, headers=keyed)
    retried = await client.post(url, content=RAW, headers=keyed)
    assert retried.json()["executionId"] == first.json()["executionId"]
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert await executions(db, hooked.workflow_id) == 3
    assert (await hooked.listed())["totalCalls"] == 4


async def test_a_header_token_webhook_wants_the_token_and_keeps_it_out_of_the_run(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    client, url = hooked.client, hooked.url
    answer = await hooked.put_secret({"scheme": "header", "header": "X-Api-Key", "secret": TOKEN})
    assert answer.status_code == 200, answer.text
    assert answer.json()["signatureHeader"] == "X-Api-Key"
    for sent in ({}, {"X-Api-Key": TOKEN[:-1]}, {"X-Api-Key": TOKEN + "0"}, {"X-Other-Key": TOKEN}):
        response = await client.post(url, content=RAW, headers={**JSON, **sent})
        assert response.status_code == 401, (sent, response.text)
        assert "X-Api-Key" in response.json()["detail"]
        assert TOKEN not in response.text
    assert await executions(db, hooked.workflow_id) == 0

    accepted = await client.post(url, content=RAW, headers={**JSON, "X-Api-Key": TOKEN, "X-Source": "crm"})
    assert accepted.status_code == 202, accepted.text
    trigger = await trigger_of(db, accepted.json()["executionId"])
    assert trigger["headers"]["x-source"] == "crm"
    assert "x-api-key" not in trigger["headers"]  # the token is the credential: never in the run's data
    assert TOKEN not in json.dumps(trigger)

    # the same scheme as a bearer token
    bearer = {"scheme": "header", "header": "Authorization", "prefix": "Bearer ", "secret": TOKEN}
    assert (await hooked.put_secret(bearer)).status_code == 200
    refused = await client.post(url, content=RAW, headers={**JSON, "Authorization": TOKEN})
    assert refused.status_code == 401
    accepted = await client.post(url, content=RAW, headers={**JSON, "Authorization": f"Bearer {TOKEN}"})
    assert accepted.status_code == 202, accepted.text
    assert await executions(db, hooked.workflow_id) == 2


async def test_shopify_s_documented_hmac_is_verified_and_a_replay_starts_nothing(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    client, url = hooked.client, hooked.url
    shopify = {
        "scheme": "hmac",
        "header": "X-Shopify-Hmac-Sha256",
        "algorithm": "sha256",
        "encoding": "base64",
        "signed": "body",
        "secret": SHOPIFY_SECRET,
    }
    answer = await hooked.put_secret(shopify)
    assert answer.status_code == 200, answer.text
    assert answer.json()["signatureHeader"] == "X-Shopify-Hmac-Sha256"

    def sent(secret: str, body: bytes) -> dict[str, str]:
        return {
            **JSON,
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-Hmac-Sha256": shopify_hmac(secret, body),
        }

    refused = {
        "missing": await client.post(url, content=SHOPIFY_ORDER, headers=JSON),
        "wrong secret": await client.post(
            url, content=SHOPIFY_ORDER, headers=sent("shpss_00000000000000000000000000000000", SHOPIFY_ORDER)
        ),
        "altered body": await client.post(url, content=RAW, headers=sent(SHOPIFY_SECRET, SHOPIFY_ORDER)),
    }
    for why, response in refused.items():
        assert response.status_code == 401, (why, response.text)
        assert "X-Shopify-Hmac-Sha256" in response.json()["detail"]
        assert SHOPIFY_SECRET not in response.text
    unsigned_query = await client.post(
        f"{url}?admin=1", content=SHOPIFY_ORDER, headers=sent(SHOPIFY_SECRET, SHOPIFY_ORDER)
    )
    assert (unsigned_query.status_code, unsigned_query.json()["error"]) == (400, "unsigned_query")
    assert await executions(db, hooked.workflow_id) == 0

    accepted = await client.post(url, content=SHOPIFY_ORDER, headers=sent(SHOPIFY_SECRET, SHOPIFY_ORDER))
    assert accepted.status_code == 202, accepted.text
    trigger = await trigger_of(db, accepted.json()["executionId"])
    assert trigger["body"]["total_price"] == "403.00"
    # Shopify signs no timestamp: the signature is remembered, so the captured call sent again starts nothing
    replay = await client.post(url, content=SHOPIFY_ORDER, headers=sent(SHOPIFY_SECRET, SHOPIFY_ORDER))
    assert replay.status_code == 202
    assert replay.json()["executionId"] == accepted.json()["executionId"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await executions(db, hooked.workflow_id) == 1


async def test_a_timestamped_hmac_is_refused_when_stale_and_remembered_when_fresh(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    client, url = hooked.client, hooked.url
    secret = "k3Jd9-Qm2Lx8Pz7Vb4Nc"
    settings = {
        "scheme": "hmac",
        "header": "X-Signature",
        "algorithm": "sha512",
        "encoding": "hex",
        "prefix": "v1=",
        "signed": "{timestamp}.{body}",
        "timestampHeader": "X-Timestamp",
        "toleranceSeconds": 60,
        "secret": secret,
    }
    assert (await hooked.put_secret(settings)).status_code == 200

    def sent(at: int, body: bytes = RAW, key: str = secret) -> dict[str, str]:
        digest = hmac.new(key.encode(), f"{at}.".encode() + body, hashlib.sha512).hexdigest()
        return {**JSON, "X-Timestamp": str(at), "X-Signature": "v1=" + digest}

    now = int(time.time())
    stale = await client.post(url, content=RAW, headers=sent(now - 120))
    assert stale.status_code == 401
    assert "accepted within 60 s" in stale.json()["detail"]
    moved = await client.post(url, content=RAW, headers={**sent(now - 120), "X-Timestamp": str(now)})
    assert moved.status_code == 401  # the timestamp is signed: a fresh one on an old signature fails
    assert "X-Signature" in moved.json()["detail"]
    no_time = await client.post(url, content=RAW, headers={**JSON, "X-Signature": sent(now)["X-Signature"]})
    assert no_time.status_code == 401
    assert "X-Timestamp" in no_time.json()["detail"]
    assert (
        await client.post(url, content=RAW, headers=sent(now, key="not-the-secret-at-all"))
    ).status_code == 401
    assert await executions(db, hooked.workflow_id) == 0

    call = sent(now)
    accepted = await client.post(url, content=RAW, headers=call)
    assert accepted.status_code == 202, accepted.text
    upper = {**call, "X-Signature": "v1=" + call["X-Signature"].removeprefix("v1=").upper()}
    replay = await client.post(url, content=RAW, headers=upper)  # the same signature, in capitals
    assert replay.json()["executionId"] == accepted.json()["executionId"]
    assert (await finished(db, accepted.json()["executionId"]))["status"] == "SUCCESS"
    assert await executions(db, hooked.workflow_id) == 1


async def test_inbound_auth_settings_that_cannot_work_are_refused_naming_the_field(
    api_with_worker: httpx.AsyncClient,
) -> None:
    hooked = await Hooked.publish(api_with_worker)
    hmac_base = {"scheme": "hmac", "header": "X-Signature", "secret": SHOPIFY_SECRET}
    for body, path in (
        ({**hmac_base, "algorithm": "md4"}, "algorithm"),
        ({**hmac_base, "encoding": "base32"}, "encoding"),
        ({"scheme": "hmac", "secret": SHOPIFY_SECRET}, "header"),
        ({**hmac_base, "header": "X Signature"}, "header"),
        ({**hmac_base, "header": "Content-Type"}, "header"),
        ({**hmac_base, "signed": "{ts}.{body}"}, "signed"),
        ({**hmac_base, "signed": "{timestamp}"}, "signed"),
        ({**hmac_base, "signed": "{timestamp}.{body}"}, "timestampHeader"),
        ({**hmac_base, "timestampHeader": "X-Timestamp"}, "signed"),
        ({**hmac_base, "toleranceSeconds": 30}, "toleranceSeconds"),
        ({**hmac_base, "username": "shop"}, "username"),
        ({"scheme": "basic", "secret": PASSWORD}, "username"),
        ({"scheme": "basic", "username": "a:b", "secret": PASSWORD}, "username"),
        ({"scheme": "basic", "username": "shop", "header": "X-Api-Key", "secret": PASSWORD}, "header"),
        ({"scheme": "basic", "username": "shop", "secret": "abababababababababab"}, "secret"),
        ({"scheme": "header", "secret": TOKEN}, "header"),
        ({"scheme": "header", "header": "X-Api-Key", "secret": "aaaaaaaaaaaaaaaaaaaaaa"}, "secret"),
        ({"scheme": "github", "header": "X-Hub-Signature-256", "secret": SHOPIFY_SECRET}, "header"),
    ):
        response = await hooked.put_secret(body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["path"] == path, (body, response.json())
        assert str(body["secret"]) not in response.text
    listed = await hooked.listed()
    assert listed["hasSecret"] is False
