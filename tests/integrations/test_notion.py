"""Notion end to end against a local server speaking its API: a workflow adds a database row with content,
appends blocks to it and finds it again by a filter; a query follows next_cursor for as many requests as
asked; Notion's 429 is waited out; a database not shared with the integration fails once and says so;
bad ids and parents are refused naming the field; the page's examples are valid steps."""

from __future__ import annotations

import json

import pytest

from integrations.catalogue import INTEGRATIONS
from integrations.notion import NOTION_VERSION
from tests.factories import action_step
from tests.http_server import serving
from tests.integrations.conftest import Studio
from tests.integrations.notion_api import NotionAPI
from tests.integrations.page_examples import example_steps

TOKEN = "ntn_4c8SECRETsecretSECRET"
TASKS = "9bc30ad4-9373-46a5-84ab-0a7845ee52e6"

notion_api = serving(lambda: NotionAPI(TOKEN, {TASKS}))


def row(name: str, status: str) -> dict[str, object]:
    return {"Name": {"title": [{"text": {"content": name}}]}, "Status": {"select": {"name": status}}}


async def connect(studio: Studio, api: NotionAPI, token: str = TOKEN) -> str:
    return await studio.connect("notion", {"accessToken": token, "baseUrl": f"{api.base_url}/v1"})


async def test_a_row_is_added_with_content_appended_and_found_by_a_filter(
    studio: Studio, notion_api: NotionAPI
) -> None:
    notion_api.databases[TASKS].append({"id": "old", "properties": row("Old", "Done")})
    connection = await connect(studio, notion_api)
    paragraph = {
        "type": "paragraph",
        "paragraph": {"rich_text": [{"text": {"content": "{{ trigger.body }}"}}]},
    }
    workflow = await studio.publish(
        [
            action_step(
                "ticket",
                "notion.create_page",
                {
                    "database_id": TASKS.replace("-", ""),
                    "properties": row("{{ trigger.subject }}", "Open"),
                    "children": [paragraph],
                },
                connection,
            ),
            action_step(
                "more",
                "notion.append_blocks",
                {
                    "block_id": "{{ steps.ticket.output.id }}",
                    "children": [{"type": "divider", "divider": {}}],
                },
                connection,
            ),
            action_step(
                "open",
                "notion.query_database",
                {"database_id": TASKS, "filter": {"property": "Status", "select": {"equals": "Open"}}},
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow, {"subject": "Printer on fire", "body": "Third floor"})
    assert execution["status"] == "SUCCESS", execution["error"]
    steps = execution["steps"]
    page_id = steps["ticket"]["output"]["id"]
    content = notion_api.blocks[page_id]
    assert [b["type"] for b in content] == ["paragraph", "divider"]
    assert content[0]["paragraph"]["rich_text"][0]["text"]["content"] == "Third floor"
    assert steps["more"]["output"]["results"][0]["id"] == content[1]["id"]
    assert [r["id"] for r in steps["open"]["output"]["results"]] == [page_id]
    assert steps["open"]["output"]["has_more"] is False
    for seen in notion_api.requests:
        assert seen.headers["Notion-Version"] == NOTION_VERSION
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(execution)


async def test_a_query_follows_the_cursor_for_as_many_requests_as_asked(
    studio: Studio, notion_api: NotionAPI
) -> None:
    notion_api.databases[TASKS].extend({"id": f"r{i}", "properties": row(f"R{i}", "Open")} for i in range(5))
    connection = await connect(studio, notion_api)
    workflow = await studio.publish(
        [
            action_step(
                "all",
                "notion.query_database",
                {"database_id": TASKS, "page_size": 2, "max_pages": 5},
                connection,
            ),
            action_step(
                "two",
                "notion.query_database",
                {"database_id": TASKS, "page_size": 2, "max_pages": 2},
                connection,
            ),
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    everything, first_two = execution["steps"]["all"]["output"], execution["steps"]["two"]["output"]
    assert [r["id"] for r in everything["results"]] == ["r0", "r1", "r2", "r3", "r4"]
    assert (everything["has_more"], everything["next_cursor"]) == (False, None)
    assert [r["id"] for r in first_two["results"]] == ["r0", "r1", "r2", "r3"]
    assert (first_two["has_more"], first_two["next_cursor"]) == (True, "4")
    cursors = [
        json.loads(s.body).get("start_cursor") for s in notion_api.hits(f"/v1/databases/{TASKS}/query")
    ]
    assert cursors == [None, "2", "4", None, "2"]


async def test_a_rate_limit_is_waited_out(studio: Studio, notion_api: NotionAPI) -> None:
    notion_api.limited = 1
    connection = await connect(studio, notion_api)
    workflow = await studio.publish(
        [
            action_step(
                "page",
                "notion.create_page",
                {"database_id": TASKS, "properties": row("X", "Open")},
                connection,
            )
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    first, second = notion_api.hits("/v1/pages")
    assert second.at - first.at >= 0.9  # Retry-After: 1
    assert len(notion_api.databases[TASKS]) == 1


async def test_a_database_not_shared_with_the_integration_fails_once_and_says_so(
    studio: Studio, notion_api: NotionAPI
) -> None:
    other = "0" * 32
    connection = await connect(studio, notion_api)
    workflow = await studio.publish(
        [action_step("open", "notion.query_database", {"database_id": other}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Could not find database" in execution["error"]
    assert "shared with the integration" in execution["error"]
    assert len(notion_api.hits(f"/v1/databases/{other}/query")) == 1


async def test_a_refused_token_says_to_reconnect(studio: Studio, notion_api: NotionAPI) -> None:
    connection = await connect(studio, notion_api, "ntn_revoked")
    workflow = await studio.publish(
        [action_step("open", "notion.query_database", {"database_id": TASKS}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "Reconnect" in execution["error"]
    assert len(notion_api.requests) == 1


def test_ids_and_parents_are_checked_naming_the_field() -> None:
    actions = INTEGRATIONS["notion"].actions
    with pytest.raises(ValueError, match="block_id"):
        actions["append_blocks"].input_model.model_validate({"block_id": "../users/me", "children": [{}]})
    with pytest.raises(ValueError, match="exactly one of database_id and page_id"):
        actions["create_page"].input_model.model_validate({"database_id": TASKS, "page_id": TASKS})


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("notion")] == ["notion.create_page", "notion.query_database"]
