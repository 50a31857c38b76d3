"""HubSpot end to end: a connection made through the OAuth2 authorize/callback flow (HubSpot's provider
entry: its contacts scopes, no PKCE) against a local OAuth2 server; published steps create a contact,
create it again (updated instead, by the Existing ID HubSpot names), update one by email and search them
across pages against a local CRM API server; an unknown property fails once in HubSpot's words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.settings import Settings
from tests.factories import action_step
from tests.fakes import OAuthServer
from tests.http_server import serving
from tests.integrations import oauth_flow
from tests.integrations.conftest import Studio
from tests.integrations.hubspot_api import HubSpotAPI
from tests.integrations.page_examples import example_steps

oauth_server = serving(OAuthServer)


@pytest.fixture
def hubspot_api(oauth_server: OAuthServer) -> Iterator[HubSpotAPI]:
    service = HubSpotAPI(oauth_server.valid_access)
    yield service
    service.close()


@pytest.fixture
def settings(settings: Settings, oauth_server: OAuthServer, hubspot_api: HubSpotAPI) -> Settings:
    return oauth_flow.oauth_settings(settings, "hubspot", oauth_server.base_url, hubspot_api.base_url)


async def connect(studio: Studio) -> str:
    connection, asked = await oauth_flow.authorized_connection(studio, "hubspot")
    assert asked["scope"] == ["oauth crm.objects.contacts.read crm.objects.contacts.write"]
    assert "code_challenge" not in asked  # HubSpot's flow has no PKCE
    return connection


async def test_contacts_are_created_upserted_updated_by_email_and_searched(
    studio: Studio, hubspot_api: HubSpotAPI
) -> None:
    connection = await connect(studio)
    for n in range(3):
        hubspot_api.contacts[str(n)] = {
            "id": str(n),
            "properties": {"email": f"p{n}@acme.io", "company": "Acme"},
        }
    ada = {"email": "ada@acme.io", "firstname": "Ada", "company": "Acme"}
    workflow = await studio.publish(
        [
            action_step("first", "hubspot.create_contact", {"properties": ada}, connection),
            action_step(
                "again",
                "hubspot.create_contact",
                {"properties": {**ada, "lifecyclestage": "lead"}, "update_if_exists": True},
                connection,
            ),
            action_step(
                "rename",
                "hubspot.update_contact",
                {"contact": "ada@acme.io", "by_email": True, "properties": {"lastname": "Lovelace"}},
                connection,
            ),
            action_step(
                "acme",
                "hubspot.search_contacts",
                {
                    "filters": [{"propertyName": "company", "operator": "EQ", "value": "Acme"}],
                    "properties": ["email", "lastname"],
                    "limit": 2,
                    "max_pages": 5,
                },
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    steps = execution["steps"]
    first, again = steps["first"]["output"], steps["again"]["output"]
    assert (first["created"], again["created"], again["id"]) == (True, False, first["id"])
    stored = hubspot_api.contacts[first["id"]]["properties"]
    assert (stored["lifecyclestage"], stored["lastname"]) == ("lead", "Lovelace")
    found = steps["acme"]["output"]
    assert (found["total"], found["after"]) == (4, None)
    assert [c["properties"]["email"] for c in found["results"]] == [
        "p0@acme.io",
        "p1@acme.io",
        "p2@acme.io",
        "ada@acme.io",
    ]
    assert found["results"][3]["properties"]["lastname"] == "Lovelace"
    (renamed,) = [s for s in hubspot_api.requests if s.method == "PATCH" and s.query]
    assert (renamed.path, renamed.query) == (
        "/crm/v3/objects/contacts/ada@acme.io",
        {"idProperty": ["email"]},
    )
    assert len(hubspot_api.hits("/crm/v3/objects/contacts/search")) == 2
    assert "access-1" not in json.dumps(execution)


async def test_an_unknown_property_fails_once_in_hubspots_words(
    studio: Studio, hubspot_api: HubSpotAPI
) -> None:
    connection = await connect(studio)
    workflow = await studio.publish(
        [
            action_step(
                "c", "hubspot.create_contact", {"properties": {"email": "x@y.io", "shoe": "42"}}, connection
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert '"shoe" does not exist' in execution["error"]
    assert len(hubspot_api.hits("/crm/v3/objects/contacts")) == 1


async def test_a_conflict_without_update_if_exists_is_the_users_to_fix(
    studio: Studio, hubspot_api: HubSpotAPI
) -> None:
    hubspot_api.contacts["7"] = {"id": "7", "properties": {"email": "ada@acme.io"}}
    connection = await connect(studio)
    workflow = await studio.publish(
        [action_step("c", "hubspot.create_contact", {"properties": {"email": "ada@acme.io"}}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Existing ID: 7" in execution["error"]
    assert not [s for s in hubspot_api.requests if s.method == "PATCH"]


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("hubspot")] == [
        "hubspot.create_contact",
        "hubspot.search_contacts",
    ]
