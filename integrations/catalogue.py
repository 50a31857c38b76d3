"""The registry: every declared integration, looked up by id, and the seed rows generated from them."""

from __future__ import annotations

from typing import Any

from core.models.enums import TriggerType
from integrations.airtable import airtable
from integrations.builtin import manual, schedule, webhook
from integrations.code import code
from integrations.crypto import crypto
from integrations.data import data
from integrations.discord import discord
from integrations.github import github
from integrations.gmail import gmail
from integrations.google_drive import drive
from integrations.google_sheets import sheets
from integrations.http import http
from integrations.hubspot import hubspot
from integrations.llm import llm
from integrations.mail import mail
from integrations.mcp import mcp
from integrations.microsoft_graph import graph
from integrations.notion import notion
from integrations.postgres import postgres
from integrations.rss import rss
from integrations.sdk import ActionSpec, Integration, TriggerSpec
from integrations.slack import slack
from integrations.store import store
from integrations.telegram import telegram
from integrations.transform import transform

INTEGRATIONS: dict[str, Integration] = {
    i.id: i
    for i in (
        webhook,
        schedule,
        manual,
        http,
        transform,
        rss,
        gmail,
        slack,
        mail,
        github,
        postgres,
        mcp,
        llm,
        crypto,
        store,
        code,
        data,
        telegram,
        discord,
        notion,
        airtable,
        sheets,
        drive,
        hubspot,
        graph,
    )
}


# Services imported from OpenAPI documents (integrations.openapi) are in INTEGRATIONS too once a process
# has loaded them; their ids are kept here so what is generated from code (seed rows, the docs page) leaves
# them out: their rows are written by the import.
IMPORTED_IDS: set[str] = set()


def register_imported(integration: Integration) -> None:
    """Adds (or replaces) an imported service; a built-in integration's id is refused."""
    if integration.id in INTEGRATIONS and integration.id not in IMPORTED_IDS:
        raise ValueError(f"{integration.id!r} is a built-in integration")
    INTEGRATIONS[integration.id] = integration
    IMPORTED_IDS.add(integration.id)


def forget_imported(integration_id: str) -> None:
    if integration_id in IMPORTED_IDS:
        IMPORTED_IDS.discard(integration_id)
        INTEGRATIONS.pop(integration_id, None)


def builtin_integrations() -> list[Integration]:
    return [i for i in INTEGRATIONS.values() if i.id not in IMPORTED_IDS]


BUILTIN_DOCS = "docs/integrations.md"
BUILTIN_WEBSITE = "docs/integrations.md"


def get_integration(integration_id: str) -> Integration | None:
    return INTEGRATIONS.get(integration_id)


def oauth_endpoints(integration_id: str) -> tuple[str, Any]:
    """(display name, declared OAuth2 endpoints or None) of an integration: what core.credentials needs to
    refresh a connection's token."""
    integration = INTEGRATIONS.get(integration_id)
    return (integration.name, integration.oauth2) if integration else (integration_id, None)


def get_action(action_id: str) -> ActionSpec[Any, Any] | None:
    integration_id, _, key = action_id.partition(".")
    integration = INTEGRATIONS.get(integration_id)
    return integration.actions.get(key) if integration else None


def get_trigger(trigger_id: str) -> TriggerSpec | None:
    integration_id, _, key = trigger_id.partition(".")
    integration = INTEGRATIONS.get(integration_id)
    return integration.triggers.get(key) if integration else None


def action_input_schema(action_id: str) -> dict[str, Any] | None:
    """The input JSON Schema of an action (what definitions are validated against); None when unknown."""
    spec = get_action(action_id)
    return spec.input_schema() if spec else None


def polling_config_schema(trigger_id: str) -> dict[str, Any] | None:
    """The configSchema of a polling trigger that can poll; None for anything else."""
    spec = get_trigger(trigger_id)
    if spec is None or spec.trigger_type != TriggerType.POLLING or spec.poll is None:
        return None
    return spec.config_schema()


def integration_rows(integrations: list[Integration] | None = None) -> list[dict[str, Any]]:
    """`integrations` rows (column -> value) as the code declares them (or of `integrations`)."""
    return [
        {
            "id": i.id,
            "name": i.name,
            "description": i.description,
            "icon": i.icon,
            "category": i.category,
            "auth_type": i.auth_type,
            "is_active": i.is_active,
            "is_popular": i.is_popular,
            # Baton's own integrations are documented in the generated catalogue page.
            "docs_url": i.docs_url or f"{BUILTIN_DOCS}#{i.id}",
            "website_url": i.website_url or BUILTIN_WEBSITE,
        }
        for i in (builtin_integrations() if integrations is None else integrations)
    ]


def trigger_rows(integrations: list[Integration] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "integration_id": t.integration_id,
            "name": t.name,
            "description": t.description,
            "type": t.trigger_type,
            "config_schema": t.config_schema(),
            "polling_interval": t.polling_interval,
            "is_active": t.implemented,
        }
        for i in (builtin_integrations() if integrations is None else integrations)
        for t in i.triggers.values()
    ]


def action_rows(integrations: list[Integration] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "integration_id": a.integration_id,
            "name": a.name,
            "description": a.description,
            "input_schema": a.input_schema(),
            "output_schema": a.output_schema(),
            "is_active": a.is_implemented,
        }
        for i in (builtin_integrations() if integrations is None else integrations)
        for a in i.actions.values()
    ]
