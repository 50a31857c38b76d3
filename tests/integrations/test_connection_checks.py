"""`POST .../connections/{id}/test` asks each service whether it takes the connection's credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings import Settings
from tests.fakes import FakeService, GitHubAPI, GmailAPI, SlackAPI
from tests.integrations.conftest import Studio, allow_baton_database


@pytest.fixture
def services() -> Iterator[dict[str, FakeService]]:
    running: dict[str, FakeService] = {
        "slack": SlackAPI({"good"}),
        "gmail": GmailAPI({"good"}),
        "github": GitHubAPI({"good"}),
    }
    yield running
    for service in running.values():
        service.close()


async def check(studio: Studio, integration_id: str, credentials: dict[str, object]) -> dict[str, object]:
    connection = await studio.connect(integration_id, credentials)
    tested = await studio.client.post(f"{studio.base}/connections/{connection}/test", headers=studio.headers)
    assert tested.status_code == 200, tested.text
    return dict(tested.json())


@pytest.mark.parametrize(
    ("integration_id", "field", "path"),
    [("slack", "accessToken", "/api"), ("gmail", "accessToken", ""), ("github", "token", "")],
)
async def test_each_service_is_asked_with_the_connections_credentials(
    studio: Studio, services: dict[str, FakeService], integration_id: str, field: str, path: str
) -> None:
    base = services[integration_id].base_url + path
    good = await check(studio, integration_id, {field: "good", "baseUrl": base})
    assert (good["ok"], good["testStatus"]) == (True, "SUCCESS")
    bad = await check(studio, integration_id, {field: "bad", "baseUrl": base})
    assert (bad["ok"], bad["testStatus"]) == (False, "FAILED")
    assert bad["failure"] == "auth"
    assert bad["detail"] == "the service refused the credentials"  # Baton's words, not the service's


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """The test database lives on Baton's own PostgreSQL server: named, as an operator would, in
    OUTBOUND_ALLOW_BATON_SERVERS (tests/integrations/test_egress.py proves it is refused otherwise)."""
    return allow_baton_database(settings, database_url)


async def test_postgres_is_checked_by_connecting(studio: Studio, database_url: str) -> None:
    url = database_url.replace("postgresql+asyncpg://", "postgresql://")
    assert (await check(studio, "postgres", {"connectionString": url}))["ok"] is True
    unreachable = await check(studio, "postgres", {"connectionString": "postgresql://nobody@127.0.0.1:9/x"})
    assert unreachable["ok"] is False
    assert unreachable["failure"] == "refused"
    assert "refused" in str(unreachable["detail"])


async def test_credentials_that_do_not_fit_the_integration_are_refused_with_their_path(
    studio: Studio,
) -> None:
    refused = await studio.client.post(
        f"{studio.base}/connections",
        headers=studio.headers,
        json={"integrationId": "postgres", "name": "db", "credentials": {"host": "h"}},
    )
    assert refused.status_code == 422
    assert refused.json()["path"].startswith("credentials")
    limited = await studio.client.post(
        f"{studio.base}/connections",
        headers=studio.headers,
        json={
            "integrationId": "github",
            "name": "gh",
            "credentials": {"token": "t"},
            "rateLimit": {"limit": 0},
        },
    )
    assert limited.status_code == 422
    assert "rateLimit" in limited.text
