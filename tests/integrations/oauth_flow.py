"""A connection made as a person makes one: the integration's authorize URL, then the provider's
redirect to Baton's callback with a code (tests.fakes.OAuthServer accepts `good-code`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

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


def oauth_client(token_server: str) -> dict[str, str]:
    """OAUTH_CLIENTS' entry for a client of the local OAuth server."""
    return {
        "clientId": "client",
        "clientSecret": "secret",
        "authorizeUrl": token_server + "/authorize",
        "tokenUrl": token_server + "/token",
    }
