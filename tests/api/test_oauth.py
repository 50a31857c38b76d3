"""The OAuth2 authorization-code flow, against a local provider speaking RFC 6749 (PKCE S256)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from core.oauth import pkce_challenge
from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up
from tests.http_server import Reply, ScriptedServer

ACCESS, REFRESH = "ya29.access-SECRET", "1//refresh-SECRET"


async def test_connecting_gmail_with_oauth2_and_pkce(
    settings: Settings, engine: AsyncEngine, http_server: ScriptedServer, db: asyncpg.Connection
) -> None:
    await seed(engine)
    http_server.script(
        "/token",
        Reply(
            200,
            {
                "access_token": ACCESS,
                "refresh_token": REFRESH,
                "expires_in": 3599,
                "token_type": "Bearer",
                "scope": "gmail.send",
            },
        ),
    )
    configured = settings.model_copy(
        update={
            "public_url": "https://baton.example.com",
            "oauth_clients": {
                "gmail": {
                    "clientId": "cid",
                    "clientSecret": "csecret",
                    "authorizeUrl": http_server.base_url + "/authorize",
                    "tokenUrl": http_server.base_url + "/token",
                }
            },
        }
    )
    async with api_client_for(configured) as client:
        headers = await sign_up(client, "oauth@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "O"})).json()
        authorize = f"/api/v1/workspaces/{workspace['id']}/connections/oauth/gmail/authorize"
        redirected = await client.get(authorize, headers=headers, params={"name": "My Gmail"})
        assert redirected.status_code == 307
        url = (await client.get(authorize, headers=headers, params={"redirect": "false"})).json()[
            "authorizeUrl"
        ]
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(http_server.base_url + "/authorize?")
        assert (query["client_id"], query["response_type"], query["code_challenge_method"]) == (
            "cid",
            "code",
            "S256",
        )
        assert query["redirect_uri"] == "https://baton.example.com/api/v1/oauth/callback"
        assert query["access_type"] == "offline"

        done = await client.get(
            "/api/v1/oauth/callback", params={"state": query["state"], "code": "the-code"}
        )
        assert done.status_code == 200, done.text
        connection = done.json()
        assert (connection["integrationId"], connection["testStatus"]) == ("gmail", "SUCCESS")
        assert connection["expiresAt"] is not None
        assert ACCESS not in done.text
        assert REFRESH not in done.text

        sent = parse_qs(http_server.hits("/token")[0].body.decode())
        assert (sent["grant_type"], sent["code"], sent["client_secret"]) == (
            ["authorization_code"],
            ["the-code"],
            ["csecret"],
        )
        assert pkce_challenge(sent["code_verifier"][0]) == query["code_challenge"]

        replay = await client.get("/api/v1/oauth/callback", params={"state": query["state"], "code": "again"})
        assert (replay.status_code, replay.json()["path"]) == (400, "state")

    row = await db.fetchrow("SELECT credentials::text, access_token, refresh_token FROM connections")
    assert all(secret not in json.dumps(dict(row)) for secret in (ACCESS, REFRESH))


async def test_oauth_errors_say_what_to_do(
    settings: Settings, engine: AsyncEngine, http_server: ScriptedServer
) -> None:
    await seed(engine)
    http_server.script("/token", Reply(400, {"error": "invalid_grant", "error_description": "Bad code"}))
    async with api_client_for(settings) as client:
        headers = await sign_up(client, "oauth2@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "O"})).json()
        base = f"/api/v1/workspaces/{workspace['id']}/connections/oauth"
        unconfigured = await client.get(f"{base}/gmail/authorize", headers=headers)
        assert unconfigured.status_code == 400
        assert "OAUTH_CLIENTS" in unconfigured.json()["detail"]
        assert (await client.get(f"{base}/http/authorize", headers=headers)).status_code == 404
    configured = settings.model_copy(
        update={
            "oauth_clients": {
                "gmail": {"clientId": "c", "clientSecret": "s", "tokenUrl": http_server.base_url + "/token"}
            }
        }
    )
    async with api_client_for(configured) as client:
        headers = await sign_up(client, "oauth3@example.com")
        workspace = (await client.post("/api/v1/workspaces", headers=headers, json={"name": "O"})).json()
        url = (
            await client.get(
                f"/api/v1/workspaces/{workspace['id']}/connections/oauth/gmail/authorize",
                headers=headers,
                params={"redirect": "false"},
            )
        ).json()["authorizeUrl"]
        state = parse_qs(urlsplit(url).query)["state"][0]
        refused = await client.get("/api/v1/oauth/callback", params={"state": state, "code": "x"})
        assert refused.status_code == 502
        assert "Bad code" in refused.json()["detail"]
