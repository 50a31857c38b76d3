"""OAuth2 connections end to end: connected through the authorize/callback flow against a local OAuth2
server, used by published Slack steps, refreshed *before* expiry under a Redis lock (many concurrent
steps, one refresh), refreshed once when the service refuses a token early, and failing with a reconnect
message when the provider revokes the grant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from core.settings import Settings
from tests.fakes import OAuthServer, SlackAPI
from tests.http_server import serving
from tests.integrations.conftest import Studio

# the first token expires within the refresh margin (5 min)
oauth_server = serving(lambda: OAuthServer(expires_in=60))


@pytest.fixture
def slack_api(oauth_server: OAuthServer) -> Iterator[SlackAPI]:
    service = SlackAPI(oauth_server.valid_access)  # Slack accepts what the provider issued
    yield service
    service.close()


@pytest.fixture
def settings(settings: Settings, oauth_server: OAuthServer, slack_api: SlackAPI) -> Settings:
    return settings.model_copy(
        update={
            "public_url": "https://baton.example.com",
            "oauth_clients": {
                "slack": {
                    "clientId": "client",
                    "clientSecret": "secret",
                    "authorizeUrl": oauth_server.base_url + "/authorize",
                    "tokenUrl": oauth_server.base_url + "/token",
                }
            },
            "integration_base_urls": {"slack": slack_api.api_url},
        }
    )


async def connect_with_oauth(studio: Studio) -> dict[str, object]:
    url = (
        await studio.client.get(
            f"{studio.base}/connections/oauth/slack/authorize",
            headers=studio.headers,
            params={"redirect": "false"},
        )
    ).json()["authorizeUrl"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    done = await studio.client.get("/api/v1/oauth/callback", params={"state": state, "code": "good-code"})
    assert done.status_code == 200, done.text
    return dict(done.json())


def posts(connection_id: object, count: int) -> list[dict[str, object]]:
    return [
        {
            "id": "fan_out",
            "type": "parallel",
            "branches": [
                [
                    {
                        "id": f"post_{n}",
                        "type": "action",
                        "action": "slack.send_message",
                        "connectionId": connection_id,
                        "input": {"channel": "#ops", "text": f"message {n}"},
                    }
                ]
                for n in range(count)
            ],
        }
    ]


async def test_concurrent_steps_refresh_an_expiring_token_once_before_it_expires(
    studio: Studio, oauth_server: OAuthServer, slack_api: SlackAPI
) -> None:
    connection = await connect_with_oauth(studio)
    oauth_server.expires_in = 3600  # what refreshing gives
    workflow = await studio.publish(posts(connection["id"], 6))
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert oauth_server.refreshes == 1  # six steps, one refresh
    tokens = {s.headers["Authorization"] for s in slack_api.hits("/api/chat.postMessage")}
    assert tokens == {"Bearer access-2"}  # the old token (still valid) was never used: refreshed before
    row = await studio.db.fetchrow(
        "SELECT credentials::text AS credentials, access_token, refresh_token, expires_at, test_status::text "
        "FROM connections WHERE id = $1",
        connection["id"],
    )
    assert row["expires_at"] > datetime.now(UTC) + timedelta(minutes=50)
    assert all(secret not in json.dumps(dict(row), default=str) for secret in ("access-2", "refresh-2"))
    assert row["test_status"] == "SUCCESS"


async def test_a_token_the_service_refuses_early_is_refreshed_once_and_the_step_succeeds(
    studio: Studio, oauth_server: OAuthServer, slack_api: SlackAPI
) -> None:
    oauth_server.expires_in = 3600
    connection = await connect_with_oauth(studio)
    oauth_server.valid_access.discard("access-1")  # revoked on Slack's side before its expiry
    workflow = await studio.publish(posts(connection["id"], 1))
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert oauth_server.refreshes == 1
    assert [s.headers["Authorization"] for s in slack_api.hits("/api/chat.postMessage")] == [
        "Bearer access-1",
        "Bearer access-2",
    ]


async def test_a_revoked_grant_fails_the_step_and_marks_the_connection(
    studio: Studio, oauth_server: OAuthServer, slack_api: SlackAPI
) -> None:
    connection = await connect_with_oauth(studio)
    oauth_server.refresh_tokens.clear()  # the user removed the app: refreshing is refused
    workflow = await studio.publish(posts(connection["id"], 1))
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Reconnect" in execution["error"]
    assert "refresh" in execution["error"]
    assert slack_api.hits("/api/chat.postMessage") == []
    got = await studio.client.get(f"{studio.base}/connections/{connection['id']}", headers=studio.headers)
    assert got.json()["testStatus"] == "FAILED"


async def test_a_connection_test_refreshes_an_expiring_token_as_a_step_would(
    studio: Studio, oauth_server: OAuthServer, slack_api: SlackAPI
) -> None:
    connection = await connect_with_oauth(studio)  # its token expires within the refresh margin
    oauth_server.expires_in = 3600
    tested = await studio.client.post(
        f"{studio.base}/connections/{connection['id']}/test", headers=studio.headers
    )
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True, tested.json()
    assert oauth_server.refreshes == 1
    assert [s.headers["Authorization"] for s in slack_api.hits("/api/auth.test")] == ["Bearer access-2"]
    # the worker then uses the refreshed token without refreshing again
    execution = await studio.run(await studio.publish(posts(connection["id"], 1)))
    assert execution["status"] == "SUCCESS", execution["error"]
    assert oauth_server.refreshes == 1


async def test_a_connection_test_of_a_revoked_grant_says_auth_and_marks_the_connection(
    studio: Studio, oauth_server: OAuthServer, slack_api: SlackAPI
) -> None:
    connection = await connect_with_oauth(studio)
    oauth_server.refresh_tokens.clear()
    tested = await studio.client.post(
        f"{studio.base}/connections/{connection['id']}/test", headers=studio.headers
    )
    assert tested.status_code == 200, tested.text
    body = tested.json()
    assert (body["ok"], body["failure"], body["testStatus"]) == (False, "auth", "FAILED"), body
    assert slack_api.hits("/api/auth.test") == []  # never called with a token about to expire
