"""Accounts: register, login, refresh, verify email, /me; API keys and their scopes."""

from __future__ import annotations

import asyncio
import logging
import re

import asyncpg
import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import PASSWORD, api_client_for, sign_up


async def test_register_login_and_me(api_client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    headers = await sign_up(api_client, "Ada@Example.com")
    me = (await api_client.get("/api/v1/me", headers=headers)).json()
    assert me["email"] == "ada@example.com"
    assert (me["firstName"], me["emailVerified"], me["isActive"]) == ("Ada", False, True)
    assert me["lastLoginAt"] is not None
    assert "passwordHash" not in me
    stored = await db.fetchval("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_registering_an_address_that_has_an_account_answers_as_for_a_new_one(
    api_client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """No oracle: the same 201 and body shape whether the address has an account, and nothing changes."""
    await sign_up(api_client, "dup@example.com")
    before = await db.fetchrow(
        "SELECT id, password_hash, first_name FROM users WHERE email = 'dup@example.com'"
    )
    fresh = await api_client.post(
        "/api/v1/auth/register",
        json={"email": "new@example.com", "password": PASSWORD, "firstName": "A", "lastName": "B"},
    )
    again = await api_client.post(
        "/api/v1/auth/register",
        json={
            "email": "Dup@Example.com",
            "password": "another strong passphrase",
            "firstName": "E",
            "lastName": "V",
        },
    )
    assert fresh.status_code == again.status_code == 201
    assert fresh.json().keys() == again.json().keys()
    assert again.json()["email"] == "dup@example.com"
    assert again.json()["id"] != str(before["id"])
    after = await db.fetchrow(
        "SELECT id, password_hash, first_name FROM users WHERE email = 'dup@example.com'"
    )
    assert dict(after) == dict(before)
    assert await db.fetchval("SELECT count(*) FROM users") == 2
    refused = await api_client.post(
        "/api/v1/auth/login", json={"email": "dup@example.com", "password": "another strong passphrase"}
    )
    assert refused.status_code == 401
    kept = await api_client.post(
        "/api/v1/auth/login", json={"email": "dup@example.com", "password": PASSWORD}
    )
    assert kept.status_code == 200


async def test_guessable_passwords_are_refused_saying_why(api_client: httpx.AsyncClient) -> None:
    for password in ("password123", "qwertyuiop", "Password1!", "letmein12345", "adalovelace"):
        response = await api_client.post(
            "/api/v1/auth/register",
            json={
                "email": "weak@example.com",
                "password": password,
                "firstName": "Ada",
                "lastName": "Lovelace",
            },
        )
        assert response.status_code == 422, password
        body = response.json()
        assert (body["error"], body["path"]) == ("weak_password", "password"), password
        assert password not in body["detail"]
    assert (
        "common"
        in (
            await api_client.post(
                "/api/v1/auth/register",
                json={
                    "email": "weak@example.com",
                    "password": "password123",
                    "firstName": "A",
                    "lastName": "B",
                },
            )
        ).json()["detail"]
    )


async def test_bad_registration_bodies_name_the_field(api_client: httpx.AsyncClient) -> None:
    response = await api_client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": PASSWORD, "firstName": "A", "lastName": "B"},
    )
    assert response.status_code == 422
    assert response.json()["path"] == "email"
    short = await api_client.post(
        "/api/v1/auth/register",
        json={"email": "a@example.com", "password": "short", "firstName": "A", "lastName": "B"},
    )
    assert short.json()["path"] == "password"


async def test_wrong_password_and_unknown_email_get_the_same_answer(api_client: httpx.AsyncClient) -> None:
    await sign_up(api_client, "who@example.com")
    wrong = await api_client.post(
        "/api/v1/auth/login", json={"email": "who@example.com", "password": "nope-nope"}
    )
    unknown = await api_client.post(
        "/api/v1/auth/login", json={"email": "x@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == "Bearer"


def from_address(client: httpx.AsyncClient, host: str) -> httpx.AsyncClient:
    """Another client of the same app, calling from `host`."""
    app = client._transport.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(host, 40000)), base_url=client.base_url
    )


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_wrong_passwords_slow_the_guesser_down_without_locking_the_owner_out(
    api_client: httpx.AsyncClient,
) -> None:
    await sign_up(api_client, "slow@example.com")
    guesser = from_address(api_client, "198.51.100.7")
    answers = [await login(guesser, "slow@example.com", f"guess number {n}") for n in range(6)]
    assert [r.status_code for r in answers] == [401] * 5 + [429]
    assert answers[-1].json()["error"] == "rate_limited"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 2
    # the owner, elsewhere, is not affected: ten wrong passwords no longer lock the account
    assert (await login(api_client, "slow@example.com", PASSWORD)).status_code == 200
    await asyncio.sleep(2.1)
    assert (await login(guesser, "slow@example.com", "guess number 6")).status_code == 401
    doubled = await login(guesser, "slow@example.com", "guess number 7")
    assert doubled.status_code == 429
    assert 3 <= int(doubled.headers["retry-after"]) <= 4  # each failure doubles the wait
    await guesser.aclose()


async def test_guesses_from_many_addresses_earn_the_account_a_short_wait_only(
    api_client: httpx.AsyncClient,
) -> None:
    await sign_up(api_client, "spread@example.com")
    for n in range(20):
        async with from_address(api_client, f"203.0.113.{n + 1}") as guesser:
            assert (await login(guesser, "spread@example.com", f"guess {n}")).status_code == 401
    async with from_address(api_client, "203.0.113.200") as guesser:
        slowed = await login(guesser, "spread@example.com", "guess 20")
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) <= 30  # a pause, never a lockout
    assert "for this account" in slowed.json()["detail"]


async def test_inactive_users_are_refused(api_client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    headers = await sign_up(api_client, "gone@example.com")
    await db.execute("UPDATE users SET is_active = false")
    assert (await api_client.get("/api/v1/me", headers=headers)).status_code == 401
    login = await api_client.post(
        "/api/v1/auth/login", json={"email": "gone@example.com", "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_refresh_gives_a_new_pair_and_a_refresh_token_works_once(api_client: httpx.AsyncClient) -> None:
    await sign_up(api_client, "r@example.com")
    tokens = (
        await api_client.post("/api/v1/auth/login", json={"email": "r@example.com", "password": PASSWORD})
    ).json()
    fresh = await api_client.post("/api/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert fresh.status_code == 200
    me = await api_client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {fresh.json()['accessToken']}"}
    )
    assert me.status_code == 200
    again = await api_client.post("/api/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert again.status_code == 401
    # An access token is not a refresh token, and the other way round.
    assert (
        await api_client.post("/api/v1/auth/refresh", json={"refreshToken": tokens["accessToken"]})
    ).status_code == 401
    refresh_as_access = {"Authorization": f"Bearer {fresh.json()['refreshToken']}"}
    assert (await api_client.get("/api/v1/me", headers=refresh_as_access)).status_code == 401


async def test_the_email_verification_link_is_logged_and_verifies(
    api_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="baton.auth"):
        headers = await sign_up(api_client, "v@example.com")
    logged = next(r.getMessage() for r in caplog.records if "verify-email" in r.getMessage())
    assert "curl -s http://" in logged  # a command to paste
    token = re.search(r'"token": "([^"]+)"', logged).group(1)  # type: ignore[union-attr]
    response = await api_client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 200
    assert response.json()["emailVerified"] is True
    assert (await api_client.get("/api/v1/me", headers=headers)).json()["emailVerified"] is True


async def test_the_verification_token_is_not_logged_outside_development(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    production = settings.model_copy(update={"environment": "production", "secret_key": "p" * 64})
    with caplog.at_level(logging.DEBUG):
        async with api_client_for(production) as client:
            await sign_up(client, "prod@example.com")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "verify-email" not in logged
    assert "eyJ" not in logged  # no JWT of any kind


async def test_no_or_bad_tokens_are_401(api_client: httpx.AsyncClient) -> None:
    assert (await api_client.get("/api/v1/me")).status_code == 401
    assert (
        await api_client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    ).status_code == 401
    assert (
        await api_client.get("/api/v1/me", headers={"Authorization": "Bearer bat_ab_cd"})
    ).status_code == 401


async def test_api_keys_are_shown_once_stored_hashed_and_honour_scopes_and_expiry(
    api_client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    headers = await sign_up(api_client, "keys@example.com")
    created = await api_client.post(
        "/api/v1/me/api-keys", headers=headers, json={"name": "ci", "scopes": ["workflows:read"]}
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["key"]
    assert secret.startswith("bat_")
    assert secret.startswith(body["prefix"])
    stored = await db.fetchval("SELECT key FROM api_keys")
    assert secret not in stored
    listed = (await api_client.get("/api/v1/me/api-keys", headers=headers)).json()["items"]
    assert [k["prefix"] for k in listed] == [body["prefix"]]
    assert "key" not in listed[0]

    with_key = {"Authorization": f"Bearer {secret}"}
    assert (await api_client.get("/api/v1/me", headers=with_key)).status_code == 200
    assert await db.fetchval("SELECT last_used_at FROM api_keys") is not None
    # workspaces:admin is not in this key's scopes
    refused = await api_client.post("/api/v1/workspaces", headers=with_key, json={"name": "X"})
    assert refused.status_code == 403
    assert "workspaces:admin" in refused.json()["detail"]
    # a key cannot mint keys
    assert (
        await api_client.post(
            "/api/v1/me/api-keys", headers=with_key, json={"name": "x", "scopes": ["workflows:read"]}
        )
    ).status_code == 403

    await db.execute("UPDATE api_keys SET expires_at = now() - interval '1 second'")
    expired = await api_client.get("/api/v1/me", headers=with_key)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]

    key_id = body["id"]
    assert (await api_client.delete(f"/api/v1/me/api-keys/{key_id}", headers=headers)).status_code == 204
    assert (await api_client.get("/api/v1/me/api-keys", headers=headers)).json()["items"] == []


async def test_an_api_key_cannot_be_created_already_expired(api_client: httpx.AsyncClient) -> None:
    headers = await sign_up(api_client, "expired-key@example.com")
    for moment in ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00", "1999-12-31T23:59:59+02:00"):
        response = await api_client.post(
            "/api/v1/me/api-keys",
            headers=headers,
            json={"name": "late", "scopes": ["workflows:read"], "expiresAt": moment},
        )
        assert response.status_code == 422, moment
        assert response.json()["path"] == "expiresAt"
        assert "future" in response.json()["detail"]
    assert (await api_client.get("/api/v1/me/api-keys", headers=headers)).json()["items"] == []
    later = await api_client.post(
        "/api/v1/me/api-keys",
        headers=headers,
        json={"name": "ok", "scopes": ["workflows:read"], "expiresAt": "2999-01-01T00:00:00"},
    )
    assert later.status_code == 201
    assert later.json()["expiresAt"].startswith("2999-01-01T00:00:00")


async def test_unknown_scopes_are_refused(api_client: httpx.AsyncClient) -> None:
    headers = await sign_up(api_client, "scope@example.com")
    response = await api_client.post(
        "/api/v1/me/api-keys", headers=headers, json={"name": "x", "scopes": ["root"]}
    )
    assert response.status_code == 422
    assert response.json()["path"] == "scopes"


async def test_account_events_are_audited_without_the_password(
    api_client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await sign_up(api_client, "audited@example.com")
    rows = await db.fetch(
        "SELECT action, user_id, ip_address, changes::text, metadata::text FROM audit_logs "
        "WHERE entity_type = 'user' ORDER BY created_at"
    )
    assert [r["action"] for r in rows] == ["user.registered", "user.logged_in"]
    assert all(r["user_id"] and r["ip_address"] for r in rows)
    assert all(PASSWORD not in f"{r['changes']}{r['metadata']}" for r in rows)
