"""The data store's API: keys written, read, listed by prefix in pages, incremented and deleted; bad bodies
refused naming the field; API key scopes; another workspace sees nothing; writes audited."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from tests.api.test_workflows import setup


async def test_a_key_is_written_read_listed_incremented_and_deleted(
    api_client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    base, headers = await setup(api_client, "store@example.com")
    store = f"{base}/data-store"
    created = await api_client.put(f"{store}/user:1", headers=headers, json={"value": {"name": "Ada"}})
    assert created.status_code == 201, created.text
    assert created.json()["value"] == {"name": "Ada"}
    replaced = await api_client.put(f"{store}/user:1", headers=headers, json={"value": {"name": "Bo"}})
    assert (replaced.status_code, replaced.json()["version"]) == (200, 2)
    kept = await api_client.put(f"{store}/user:1", headers=headers, json={"value": 0, "ifAbsent": True})
    assert kept.json()["value"] == {"name": "Bo"}
    assert (await api_client.get(f"{store}/user:1", headers=headers)).json()["value"] == {"name": "Bo"}
    for key in ("user:2", "user:3", "order:1"):
        await api_client.put(f"{store}/{key}", headers=headers, json={"value": key, "ttlSeconds": 3600})
    first = (await api_client.get(f"{store}?prefix=user:&limit=2", headers=headers)).json()
    assert [e["key"] for e in first["items"]] == ["user:1", "user:2"]
    assert first["items"][1]["expiresAt"] is not None
    rest = (
        await api_client.get(f"{store}?prefix=user:&limit=2&cursor={first['nextCursor']}", headers=headers)
    ).json()
    assert ([e["key"] for e in rest["items"]], rest["nextCursor"]) == (["user:3"], None)

    answers = await asyncio.gather(
        *(api_client.post(f"{store}/hits/increment", headers=headers, json={"by": 2}) for _ in range(10))
    )
    assert {a.status_code for a in answers} == {200}
    assert (await api_client.get(f"{store}/hits", headers=headers)).json()["value"] == 20

    # a key may hold slashes (a path-like name)
    await api_client.put(f"{store}/users/ada/visits", headers=headers, json={"value": 1})
    bumped = await api_client.post(f"{store}/users/ada/visits/increment", headers=headers, json={})
    assert (bumped.json()["key"], bumped.json()["value"]) == ("users/ada/visits", 2)

    assert (await api_client.delete(f"{store}/user:1", headers=headers)).status_code == 204
    missing = await api_client.get(f"{store}/user:1", headers=headers)
    assert (missing.status_code, missing.json()["path"]) == (404, "key")
    assert (await api_client.delete(f"{store}/user:1", headers=headers)).status_code == 404
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_logs ORDER BY created_at")]
    assert actions.count("data_store.set") == 6
    assert "data_store.deleted" in actions


async def test_bad_bodies_and_values_are_refused_naming_the_field(api_client: httpx.AsyncClient) -> None:
    base, headers = await setup(api_client, "store-bad@example.com")
    store = f"{base}/data-store"
    unknown = await api_client.put(f"{store}/k", headers=headers, json={"value": 1, "ttl": 5})
    assert unknown.status_code == 422
    assert "ttl" in unknown.text
    negative = await api_client.put(f"{store}/k", headers=headers, json={"value": 1, "ttlSeconds": -1})
    assert negative.status_code == 422
    assert "ttlSeconds" in negative.text
    too_big = await api_client.put(f"{store}/k", headers=headers, json={"value": "x" * 300_000})
    assert (too_big.status_code, too_big.json()["path"]) == (403, "value")
    await api_client.put(f"{store}/name", headers=headers, json={"value": "Ada"})
    not_a_number = await api_client.post(f"{store}/name/increment", headers=headers, json={})
    assert (not_a_number.status_code, not_a_number.json()["path"]) == (422, "key")
    assert (await api_client.get(f"{store}?cursor=%%%", headers=headers)).status_code == 422
    # numbers past what a date or a counter holds (found by the API's fuzz test: 500s)
    for method, url, body, path in (
        ("PUT", f"{store}/k", {"value": 1, "ttlSeconds": 1e300}, "ttlSeconds"),
        ("POST", f"{store}/n/increment", {"ttlSeconds": 1e300}, "ttlSeconds"),
        ("POST", f"{store}/n/increment", {"by": 1e308}, "by"),
        ("POST", f"{store}/n/increment", {"by": 10**400}, "by"),
    ):
        answer = await api_client.request(method, url, headers=headers, json=body)
        assert (answer.status_code, answer.json()["path"]) == (422, path), (body, answer.text)


async def test_another_workspace_and_keys_without_the_scope_cannot_reach_the_store(
    api_client: httpx.AsyncClient,
) -> None:
    base, headers = await setup(api_client, "store-owner@example.com")
    await api_client.put(f"{base}/data-store/secret", headers=headers, json={"value": "mine"})
    other_base, other = await setup(api_client, "store-other@example.com")
    assert (await api_client.get(f"{base}/data-store/secret", headers=other)).status_code == 404
    assert (await api_client.get(f"{other_base}/data-store/secret", headers=other)).status_code == 404
    assert (await api_client.get(f"{other_base}/data-store", headers=other)).json()["items"] == []

    async def key(scopes: list[str]) -> dict[str, str]:
        made = await api_client.post(
            "/api/v1/me/api-keys", headers=headers, json={"name": ",".join(scopes), "scopes": scopes}
        )
        return {"Authorization": f"Bearer {made.json()['key']}"}

    reader, writer, unrelated = (
        await key(["data:read"]),
        await key(["data:write"]),
        await key(["workflows:read"]),
    )
    assert (await api_client.get(f"{base}/data-store/secret", headers=reader)).status_code == 200
    refused = await api_client.put(f"{base}/data-store/secret", headers=reader, json={"value": 1})
    assert refused.status_code == 403
    assert "data:write" in refused.json()["detail"]
    assert (
        await api_client.put(f"{base}/data-store/k", headers=writer, json={"value": 1})
    ).status_code == 201
    assert (await api_client.get(f"{base}/data-store", headers=unrelated)).status_code == 403
