"""The connection test as a use case (integrations.connection_tests.check_connection), without the route:
the service is asked with the stored credentials, and the answer is in Baton's words."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.credentials import ConnectionCredentials
from core.crypto import CredentialCipher
from core.settings import Settings
from integrations.connection_tests import ConnectionChecked, check_connection
from tests.fakes import SlackAPI
from tests.integrations.conftest import Studio


@pytest.fixture
def slack() -> Iterator[SlackAPI]:
    service = SlackAPI({"good"})
    yield service
    service.close()


async def test_a_connection_is_checked_with_its_stored_credentials(
    studio: Studio, slack: SlackAPI, engine: AsyncEngine, settings: Settings
) -> None:
    workspace_id = studio.base.rstrip("/").rsplit("/", 1)[-1]

    def credentials(http: httpx.AsyncClient) -> ConnectionCredentials:
        return ConnectionCredentials(engine, CredentialCipher.from_settings(settings), http=http)

    base = slack.base_url + "/api"
    good = await studio.connect("slack", {"accessToken": "good", "baseUrl": base})
    assert await check_connection(good, workspace_id, "slack", credentials, settings) == ConnectionChecked(
        True, "Slack accepted the credentials"
    )
    bad = await studio.connect("slack", {"accessToken": "bad", "baseUrl": base})
    assert await check_connection(bad, workspace_id, "slack", credentials, settings) == ConnectionChecked(
        False, "the service refused the credentials", "auth"
    )
