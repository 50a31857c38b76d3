"""The catalogue over REST: integrations (cached in Redis), templates, the definition schema."""

from __future__ import annotations

import httpx
import pytest
from jsonschema import Draft202012Validator
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed, seed_database
from core.redis_keys import RedisKeys
from core.settings import Settings
from integrations.catalogue import INTEGRATIONS
from tests.api.conftest import sign_up


async def test_integrations_are_listed_filtered_and_detailed_with_schemas(
    api_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, redis_keys: RedisKeys
) -> None:
    await seed(engine)
    headers = await sign_up(api_client, "cat@example.com")
    everything = (await api_client.get("/api/v1/integrations", headers=headers)).json()["items"]
    assert {"http", "gmail", "slack", "webhook"} <= {i["id"] for i in everything}
    communication = (
        await api_client.get("/api/v1/integrations?category=communication", headers=headers)
    ).json()
    assert {i["id"] for i in communication["items"]} == {
        "gmail", "slack", "email", "telegram", "discord", "microsoft_graph"
    }  # fmt: skip

    gmail = (await api_client.get("/api/v1/integrations/gmail", headers=headers)).json()
    assert gmail["authType"] == "OAUTH2"
    assert [t["id"] for t in gmail["triggers"]] == ["gmail.new_email"]
    send = next(a for a in gmail["actions"] if a["id"] == "gmail.send_email")
    assert send["inputSchema"]["required"] == ["to", "subject", "body"]
    cached = await redis.hgetall(redis_keys.integration_cache("gmail"))
    assert (cached["name"], cached["authType"]) == ("Gmail", "OAUTH2")
    assert 0 < await redis.ttl(redis_keys.integration_cache("gmail")) <= 3600

    missing = await api_client.get("/api/v1/integrations/fax", headers=headers)
    assert missing.status_code == 404


async def test_every_integration_is_listed_with_valid_json_schemas(
    api_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await seed(engine)
    headers = await sign_up(api_client, "schemas@example.com")
    listed = (await api_client.get("/api/v1/integrations", headers=headers)).json()["items"]
    expected = {
        "http",
        "webhook",
        "slack",
        "gmail",
        "email",
        "github",
        "postgres",
        "rss",
        "schedule",
        "transform",
    }
    assert expected <= {i["id"] for i in listed}
    for integration_id in expected:
        detail = (await api_client.get(f"/api/v1/integrations/{integration_id}", headers=headers)).json()
        assert detail["isActive"] is True, integration_id
        assert detail["docsUrl"], integration_id
        assert detail["websiteUrl"], integration_id
        icon = await api_client.get(detail["icon"])
        assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml"), integration_id
        for action in detail["actions"]:
            Draft202012Validator.check_schema(action["inputSchema"])
            Draft202012Validator.check_schema(action["outputSchema"])
            assert action["isActive"] is True, action["id"]
        for trigger in detail["triggers"]:
            Draft202012Validator.check_schema(trigger["configSchema"])
    popular = (await api_client.get("/api/v1/integrations?popular=true", headers=headers)).json()["items"]
    assert {"slack", "gmail", "github"} <= {i["id"] for i in popular}


async def test_templates_and_the_definition_schema(
    api_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await seed(engine)
    headers = await sign_up(api_client, "tpl@example.com")
    templates = (await api_client.get("/api/v1/templates", headers=headers)).json()["items"]
    assert len(templates) >= 4
    one = (await api_client.get(f"/api/v1/templates/{templates[0]['id']}", headers=headers)).json()
    assert one["requiredIntegrations"]
    assert one["steps"]
    schema = (await api_client.get("/api/v1/definition-schema")).json()
    assert schema["title"] == "Baton workflow definition"
    assert {"triggerType", "triggerConfig", "steps"} <= set(schema["properties"])


async def test_the_catalogue_needs_a_login(api_client: httpx.AsyncClient) -> None:
    assert (await api_client.get("/api/v1/integrations")).status_code == 401


async def test_seeding_a_changed_catalogue_drops_the_cached_entries(
    api_client: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed(engine)
    headers = await sign_up(api_client, "cache@example.com")
    assert (await api_client.get("/api/v1/integrations/slack", headers=headers)).json()["description"]
    monkeypatch.setattr(INTEGRATIONS["slack"], "description", "Slack, as changed in code")
    report = await seed_database(settings.database_url, settings, settings.redis_url)
    assert "cache" not in report
    detail = (await api_client.get("/api/v1/integrations/slack", headers=headers)).json()
    assert detail["description"] == "Slack, as changed in code"
