"""OAuth2 connections, continued: who a browser connection acts for (`connectedAs`, from the id_token or the
provider's userinfo endpoint at its catalogue path), a token the API refuses with 401 renewed once and the
call sent again (never a loop), and an operator-added provider's endpoints behind the one egress guard."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from core import oauth, oauth_grants
from core.oauth_providers import load
from core.outbound import OutboundPolicy, outbound_client
from core.settings import Settings
from tests.http_server import Reply, Seen
from tests.integrations.conftest import Studio
from tests.integrations.test_oauth2_any_api import (
    CLIENT_ID,
    CLIENT_SECRET,
    OAuth2Server,
    _browser_connection,
    _calls,
    with_google_at,
)


class UserinfoServer(OAuth2Server):
    """The provider, with a userinfo endpoint; its id_token may name only a subject."""

    email_in_id_token = True

    def answer(self, seen: Seen) -> Reply:
        if seen.path == "/userinfo":
            token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.access.get(token, 0) <= time.time():
                return Reply(401, {"error": "invalid_token"})
            return Reply(200, {"sub": "42", "profile": {"mail": "grace@example.com"}, "name": "Grace"})
        reply = super().answer(seen)
        if isinstance(reply.body, dict) and "id_token" in reply.body and not self.email_in_id_token:
            reply.body["id_token"] = jwt.encode({"sub": "42"}, "provider-signing-key-0123456789abcdef")
        return reply


@pytest.fixture
def provider() -> Iterator[UserinfoServer]:
    server = UserinfoServer()
    yield server
    server.close()


@pytest.fixture
def settings(settings: Settings, provider: UserinfoServer) -> Settings:
    google = load()["google"].model_dump(by_alias=True)
    google |= {"userinfoUrl": provider.base_url + "/userinfo", "userinfoIdentity": "profile.mail"}
    return with_google_at(settings, provider).model_copy(update={"oauth_providers": {"google": google}})


async def test_a_browser_connection_shows_who_it_acts_for_from_the_id_token(
    studio: Studio, provider: UserinfoServer
) -> None:
    connection = await _browser_connection(studio)
    assert connection["connectedAs"] == "ada@example.com"
    assert provider.hits("/userinfo") == []  # the id_token said it: no second call
    listed = await studio.client.get(f"{studio.base}/connections", headers=studio.headers)
    assert [c["connectedAs"] for c in listed.json()["items"]] == ["ada@example.com"]


async def test_without_an_email_in_the_id_token_the_userinfo_answer_at_the_catalogue_path_is_shown(
    studio: Studio, provider: UserinfoServer
) -> None:
    provider.email_in_id_token = False
    connection = await _browser_connection(studio)
    assert (connection["connectedAs"], connection["name"]) == (
        "grace@example.com",
        "Google (grace@example.com)",
    )
    [asked] = provider.hits("/userinfo")
    assert asked.headers["Authorization"].startswith("Bearer at-")
    shown = await studio.client.get(f"{studio.base}/connections/{connection['id']}", headers=studio.headers)
    assert shown.json()["connectedAs"] == "grace@example.com"


def _client_credentials(provider: UserinfoServer) -> dict[str, Any]:
    return {
        "type": "oauth2",
        "grant": "client_credentials",
        "tokenUrl": provider.base_url + "/token",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
    }


async def test_a_client_credentials_token_refused_early_is_renewed_once_and_the_call_sent_again(
    studio: Studio, provider: UserinfoServer
) -> None:
    connection = await studio.connect("http", _client_credentials(provider))
    workflow = await studio.publish(_calls(provider, connection)[:1])
    assert (await studio.run(workflow))["status"] == "SUCCESS"
    provider.access.clear()  # the API forgot the token long before its expiry (a key rotation)

    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["first"]["output"]["body"] == {"me": "ada"}
    assert provider.grants("client_credentials") == 2
    assert len(provider.hits("/api/me")) == 3  # the first run's call, the refused one, the one sent again


async def test_a_browser_connections_token_refused_early_is_refreshed_once_and_the_run_succeeds(
    studio: Studio, provider: UserinfoServer
) -> None:
    connection = await _browser_connection(studio)
    provider.access.clear()  # revoked at the API before its expiry; the refresh token still works

    execution = await studio.run(await studio.publish(_calls(provider, connection["id"])[:1]))
    assert execution["status"] == "SUCCESS", execution["error"]
    assert provider.grants("refresh_token") == 1
    assert len(provider.hits("/api/me")) == 2  # refused, then sent again with the fresh token


async def test_a_second_401_fails_the_step_saying_the_credentials_are_refused_without_a_loop(
    studio: Studio, provider: UserinfoServer
) -> None:
    connection = await studio.connect("http", _client_credentials(provider))
    provider.expires_in = -1  # every token the provider issues, the API refuses
    execution = await studio.run(await studio.publish(_calls(provider, connection)[:1]))
    assert execution["status"] == "FAILED"
    assert "refused the connection's credentials" in execution["error"]
    assert "answered 401" in execution["error"]
    assert provider.grants("client_credentials") == 2  # the first token, then one fresh one: no loop
    assert len(provider.hits("/api/me")) == 2
    assert CLIENT_SECRET not in json.dumps(execution)


async def test_an_operator_added_providers_token_url_passes_the_egress_guard_like_any_call(
    provider: UserinfoServer,
) -> None:
    catalogue = load(inline={"acme": {"name": "Acme", "tokenUrl": provider.base_url + "/token"}})
    credentials = {"type": "oauth2", "grant": "client_credentials", "provider": "acme"}
    credentials |= {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    async with outbound_client(OutboundPolicy()) as guarded:  # no OUTBOUND_ALLOW: loopback is private
        with pytest.raises(oauth.ProviderError, match="unreachable") as refused:
            await oauth_grants.connection_token(guarded, credentials, {}, catalogue)
    assert "127.0.0.1" in str(refused.value)
    assert provider.hits("/token") == []
    async with outbound_client(OutboundPolicy(allow=["127.0.0.0/8"])) as allowed:  # OUTBOUND_ALLOW
        tokens = await oauth_grants.connection_token(allowed, credentials, {}, catalogue)
    assert tokens.access_token in provider.access
