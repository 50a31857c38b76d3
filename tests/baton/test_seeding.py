"""`baton seed` writes the catalogue and templates from code, idempotently."""

from __future__ import annotations

import json

import asyncpg
import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from integrations.catalogue import INTEGRATIONS
from integrations.templates import TEMPLATES
from tests.baton.cli import baton


async def _snapshot(db: asyncpg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: [tuple(r) for r in await db.fetch(f"SELECT * FROM {table} ORDER BY id")]
        for table in ("integrations", "triggers", "actions", "workflow_templates")
    }


async def test_seeding_twice_changes_nothing_the_second_time(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    first = await seed(engine)
    assert first.changed
    after_first = await _snapshot(db)
    second = await seed(engine)
    assert not second.changed
    assert all(r.unchanged and not r.inserted and not r.updated for r in second.tables.values())
    assert await _snapshot(db) == after_first  # not even updated_at moved


async def test_the_catalogue_holds_the_seed_examples(engine: AsyncEngine, db: asyncpg.Connection) -> None:
    await seed(engine)
    gmail = await db.fetchrow("SELECT * FROM integrations WHERE id = 'gmail'")
    assert (gmail["name"], gmail["category"], gmail["auth_type"], gmail["is_popular"]) == (
        "Gmail",
        "communication",
        "OAUTH2",
        True,
    )
    slack = await db.fetchrow("SELECT * FROM integrations WHERE id = 'slack'")
    assert (slack["name"], slack["auth_type"]) == ("Slack", "OAUTH2")

    new_email = await db.fetchrow("SELECT * FROM triggers WHERE id = 'gmail.new_email'")
    assert (new_email["integration_id"], new_email["type"], new_email["polling_interval"]) == (
        "gmail",
        "POLLING",
        300,
    )
    assert {"label", "from"} <= set(json.loads(new_email["config_schema"])["properties"])

    send_email = await db.fetchrow("SELECT * FROM actions WHERE id = 'gmail.send_email'")
    input_schema = json.loads(send_email["input_schema"])
    assert input_schema["type"] == "object"
    assert set(input_schema["required"]) == {"to", "subject", "body"}
    assert input_schema["properties"]["to"]["format"] == "email"
    assert "messageId" in json.loads(send_email["output_schema"])["properties"]


async def test_is_active_says_which_declarations_have_working_code(
    engine: AsyncEngine, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(engine)
    active = {r["id"]: r["is_active"] for r in await db.fetch("SELECT id, is_active FROM actions")}
    assert all(active.values())  # every action in the catalogue works
    assert {"http.request", "gmail.send_email", "slack.send_message", "webhook.respond"} <= set(active)
    triggers = {r["id"]: r["is_active"] for r in await db.fetch("SELECT id, is_active FROM triggers")}
    assert all(triggers.values())
    # a declaration whose code has not landed is listed, inactive
    monkeypatch.setattr(INTEGRATIONS["slack"], "actions", dict(INTEGRATIONS["slack"].actions))
    INTEGRATIONS["slack"].declare_action(
        "archive_channel", name="Archive", description="Soon", input_model=Empty, output_model=Empty
    )
    await seed(engine)
    assert await db.fetchval("SELECT is_active FROM actions WHERE id = 'slack.archive_channel'") is False


class Empty(BaseModel):
    pass


async def test_changing_an_integrations_code_updates_exactly_its_rows(
    engine: AsyncEngine, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(engine)
    before = await db.fetchrow("SELECT * FROM integrations WHERE id = 'slack'")
    monkeypatch.setattr(INTEGRATIONS["slack"], "description", "Post messages, threads and files to Slack")
    monkeypatch.setattr(INTEGRATIONS["slack"].actions["send_message"], "name", "Post a Message")
    report = await seed(engine)
    assert (report.tables["integrations"].updated, report.tables["actions"].updated) == (1, 1)
    assert report.tables["triggers"].updated == 0
    after = await db.fetchrow("SELECT * FROM integrations WHERE id = 'slack'")
    assert after["description"] == "Post messages, threads and files to Slack"
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]
    assert await db.fetchval("SELECT name FROM actions WHERE id = 'slack.send_message'") == "Post a Message"


async def test_an_action_removed_from_code_is_deactivated_not_deleted(
    engine: AsyncEngine, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(engine)
    actions = dict(INTEGRATIONS["http"].actions)
    del actions["request"]
    monkeypatch.setattr(INTEGRATIONS["http"], "actions", actions)
    report = await seed(engine)
    assert report.tables["actions"].deactivated == 1
    assert await db.fetchval("SELECT is_active FROM actions WHERE id = 'http.request'") is False


async def test_default_templates_are_installed_with_their_required_integrations(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    await seed(engine)
    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM workflow_templates")}
    assert set(rows) == {t.id for t in TEMPLATES}
    gmail_to_slack = next(t for t in TEMPLATES if t.slug == "gmail-to-slack")
    row = rows[gmail_to_slack.id]
    assert row["trigger_type"] == "POLLING"
    assert row["required_integrations"] == ["gmail", "slack"]
    assert json.loads(row["steps"])[0]["action"] == "slack.send_message"


def test_baton_seed_prints_what_it_changed(database_url: str) -> None:
    def run() -> str:
        result = baton("seed", DATABASE_URL=database_url)
        assert result.returncode == 0, result.stderr
        return result.stdout

    count = len(INTEGRATIONS)
    assert f"integrations: {count} inserted" in run()
    assert f"integrations: 0 inserted, 0 updated, {count} unchanged" in run()
