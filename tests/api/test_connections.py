"""Connections: credentials checked, encrypted, never returned, never in clear (responses, logs, pg_dump)."""

from __future__ import annotations

import logging
import subprocess

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.embedded import postgres_binaries
from baton.seeding import seed
from core.settings import to_libpq_url
from tests.api.conftest import sign_up

SECRET = "sk_live_TOPSECRET_4242"


async def test_connections_keep_their_secret_out_of_every_response_log_and_dump(
    api_client: httpx.AsyncClient,
    engine: AsyncEngine,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed(engine)
    headers = await sign_up(api_client, "conn@example.com")
    workspace = (await api_client.post("/api/v1/workspaces", headers=headers, json={"name": "C"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}/connections"
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        created = await api_client.post(
            base,
            headers=headers,
            json={
                "integrationId": "http",
                "name": "Stripe",
                "credentials": {"type": "bearer", "token": SECRET},
            },
        )
        seen.append(created.text)
        assert created.status_code == 201, created.text
        url = f"{base}/{created.json()['id']}"
        for response in (
            await api_client.get(base, headers=headers),
            await api_client.get(url, headers=headers),
            await api_client.patch(url, headers=headers, json={"name": "Stripe live"}),
            await api_client.post(f"{url}/test", headers=headers),
        ):
            assert response.status_code == 200, response.text
            seen.append(response.text)
    assert all(SECRET not in text for text in seen)
    assert SECRET not in caplog.text
    tested = (await api_client.get(url, headers=headers)).json()
    assert (tested["testStatus"], tested["lastTestedAt"] is not None) == ("SUCCESS", True)

    dump = subprocess.run(
        [str(postgres_binaries() / "pg_dump"), "--data-only", to_libpq_url(database_url)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Stripe live" in dump  # the dump has the data...
    assert SECRET not in dump  # ...but never the secret in clear


async def test_credentials_are_checked_against_the_integration(
    api_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await seed(engine)
    headers = await sign_up(api_client, "bad@example.com")
    workspace = (await api_client.post("/api/v1/workspaces", headers=headers, json={"name": "C"})).json()
    base = f"/api/v1/workspaces/{workspace['id']}/connections"
    wrong = await api_client.post(
        base,
        headers=headers,
        json={"integrationId": "http", "name": "x", "credentials": {"type": "kerberos"}},
    )
    assert wrong.status_code == 422
    assert wrong.json()["path"] == "credentials.type"
    unknown = await api_client.post(base, headers=headers, json={"integrationId": "fax", "name": "x"})
    assert (unknown.status_code, unknown.json()["path"]) == (404, "integrationId")


async def test_only_admins_manage_connections(api_client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await seed(engine)
    owner = await sign_up(api_client, "owner@example.com")
    member = await sign_up(api_client, "member@example.com")
    workspace = (await api_client.post("/api/v1/workspaces", headers=owner, json={"name": "C"})).json()
    await api_client.post(
        f"/api/v1/workspaces/{workspace['id']}/members",
        headers=owner,
        json={"email": "member@example.com", "role": "MEMBER"},
    )
    base = f"/api/v1/workspaces/{workspace['id']}/connections"
    body = {"integrationId": "http", "name": "x", "credentials": {"type": "bearer", "token": "t"}}
    assert (await api_client.post(base, headers=member, json=body)).status_code == 403
    assert (await api_client.post(base, headers=owner, json=body)).status_code == 201
    assert (await api_client.get(base, headers=member)).status_code == 200
