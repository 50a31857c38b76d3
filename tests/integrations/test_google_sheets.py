"""Google Sheets end to end: a connection made through the OAuth2 authorize/callback flow (the google
provider's flow, against a local OAuth2 server) is refreshed before its token expires, and published
steps append rows, update cells and read them back by A1 ranges against a local Sheets API server;
Google's errors (a range that does not parse) fail once in Google's words; the page's examples are valid."""

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
from tests.integrations.page_examples import example_steps
from tests.integrations.sheets_api import SheetsAPI

SHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"

oauth_server = serving(lambda: OAuthServer(expires_in=60))  # within the refresh margin: refreshed first


@pytest.fixture
def sheets_api(oauth_server: OAuthServer) -> Iterator[SheetsAPI]:
    service = SheetsAPI(
        oauth_server.valid_access,
        SHEET,
        {"Orders 2026": [["Order", "Email", "Total"], ["A-1", "a@x.io", "10"]]},
    )
    yield service
    service.close()


@pytest.fixture
def settings(settings: Settings, oauth_server: OAuthServer, sheets_api: SheetsAPI) -> Settings:
    return oauth_flow.oauth_settings(
        settings, "google_sheets", oauth_server.base_url, f"{sheets_api.base_url}/v4"
    )


async def authorized_connection(studio: Studio) -> str:
    connection, asked = await oauth_flow.authorized_connection(studio, "google_sheets")
    assert asked["scope"] == ["https://www.googleapis.com/auth/spreadsheets"]
    assert (asked["access_type"], asked["code_challenge_method"]) == (["offline"], ["S256"])  # Google's flow
    return connection


async def test_an_oauth_connection_appends_updates_and_reads_rows(
    studio: Studio, oauth_server: OAuthServer, sheets_api: SheetsAPI
) -> None:
    connection = await authorized_connection(studio)
    oauth_server.expires_in = 3600
    where = {"spreadsheet_id": SHEET}
    workflow = await studio.publish(
        [
            action_step(
                "row",
                "google_sheets.append_values",
                {
                    **where,
                    "range": "'Orders 2026'!A:C",
                    "values": [["{{ trigger.order }}", "b@x.io", "{{ trigger.total }}"]],
                },
                connection,
            ),
            action_step(
                "fix",
                "google_sheets.update_values",
                {**where, "range": "'Orders 2026'!C2", "values": [["12"]], "value_input_option": "RAW"},
                connection,
            ),
            action_step(
                "read", "google_sheets.get_values", {**where, "range": "'Orders 2026'!A2:C"}, connection
            ),
        ]
    )
    execution = await studio.run(workflow, {"order": "A-2", "total": 20})
    assert execution["status"] == "SUCCESS", execution["error"]
    steps = execution["steps"]
    assert steps["row"]["output"]["updated_range"] == "'Orders 2026'!A3:C3"
    assert steps["row"]["output"]["updated_cells"] == 3
    assert steps["fix"]["output"]["updated_range"] == "'Orders 2026'!C2:C2"
    assert steps["read"]["output"]["values"] == [["A-1", "a@x.io", "12"], ["A-2", "b@x.io", "20"]]
    (appended,) = [s for s in sheets_api.requests if s.method == "POST"]
    assert appended.path == f"/v4/spreadsheets/{SHEET}/values/%27Orders%202026%27%21A%3AC:append"
    assert appended.query["valueInputOption"] == ["USER_ENTERED"]
    assert oauth_server.refreshes == 1  # the first token was about to expire
    assert {s.headers["Authorization"] for s in sheets_api.requests} == {"Bearer access-2"}
    assert "access-2" not in json.dumps(execution)


async def test_a_range_google_cannot_parse_fails_once_in_googles_words(
    studio: Studio, oauth_server: OAuthServer, sheets_api: SheetsAPI
) -> None:
    oauth_server.expires_in = 3600
    connection = await authorized_connection(studio)
    workflow = await studio.publish(
        [
            action_step(
                "read", "google_sheets.get_values", {"spreadsheet_id": SHEET, "range": "Nope!A1"}, connection
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Unable to parse range: Nope!A1" in execution["error"]
    assert len(sheets_api.requests) == 1


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("google_sheets")] == [
        "google_sheets.append_values",
        "google_sheets.get_values",
    ]
