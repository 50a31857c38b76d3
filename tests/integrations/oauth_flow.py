"""A connection made as a person makes one: the integration's authorize URL, then the provider's
redirect to Baton's callback with a code (tests.fakes.OAuthServer accepts `good-code`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from core.settings import Settings
from tests.integrations.conftest import Studio


async def authorized_connection(studio: Studio, integration_id: str) -> tuple[str, dict[str, list[str]]]:
    """The new connection's id, and the query of the authorize URL the person was sent to."""
    started = await studio.client.get(
        f"{studio.base}/connections/oauth/{integration_id}/authorize",
        headers=studio.headers,
        params={"redirect": "false"},
    )
    assert started.status_code == 200, started.text
    asked = parse_qs(urlsplit(started.json()["authorizeUrl"]).query)
    done = await studio.client.get(
        "/api/v1/oauth/callback", params={"state": asked["state"][0], "code": "good-code"}
    )
    assert done.status_code == 200, done.text
    return str(done.json()["id"]), asked


def oauth_settings(settings: Settings, integration_id: str, token_server: str, api_url: str) -> Settings:
    """Settings under which `integration_id` connects through the local OAuth server (a client of it in
    OAUTH_CLIENTS) and calls its API at `api_url`."""
    client = {
        "clientId": "client",
        "clientSecret": "secret",
        "authorizeUrl": token_server + "/authorize",
        "tokenUrl": token_server + "/token",
    }
    return settings.model_copy(
        update={
            "public_url": "https://baton.example.com",
            "oauth_clients": {integration_id: client},
            "integration_base_urls": {integration_id: api_url},
        }
    )
