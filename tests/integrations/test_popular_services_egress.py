"""The popular services' integrations (Telegram, Discord, Notion, Airtable, Google Sheets and Drive,
HubSpot, Microsoft Graph) open their sockets only through the egress guard: with an EMPTY allow-list, each
action, poll and connection test aimed at a listener on 127.0.0.1 is refused before any connection is made
(tests/integrations/test_egress.py's listener counts them), and a refusal never quotes a token the URL
carries (Telegram's bot token, a Discord webhook's)."""

from __future__ import annotations

from typing import Any

import pytest

from core.outbound import OutboundPolicy, outbound_client
from integrations.context import ActionError
from tests.integrations.test_egress import Listener, Opener, action, connection_test, context, listener, poll

__all__ = ["listener"]  # the fixture, shared

BOT = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
HOOK_TOKEN = "HOOKsecret_token-123"
SHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"


def local(port: int, path: str = "") -> str:
    return f"http://127.0.0.1:{port}{path}"


def bearer(port: int, path: str = "") -> dict[str, Any]:
    return {"accessToken": "t", "baseUrl": local(port, path)}


OPENERS: dict[str, Opener] = {
    "telegram.send_message": lambda port, http: action(
        "telegram",
        "send_message",
        {"chat_id": 1, "text": "hi"},
        context("telegram", {"botToken": BOT, "baseUrl": local(port)}, http),
    ),
    "telegram.new_update": lambda port, http: poll(
        "telegram", "new_update", {}, context("telegram", {"botToken": BOT, "baseUrl": local(port)}, http)
    ),
    "telegram (connection test)": lambda port, http: connection_test(
        "telegram", context("telegram", {"botToken": BOT, "baseUrl": local(port)}, http)
    ),
    "discord.execute_webhook": lambda port, http: action(
        "discord",
        "execute_webhook",
        {"content": "hi"},
        context("discord", {"webhookUrl": local(port, f"/api/webhooks/1/{HOOK_TOKEN}")}, http),
    ),
    "discord.send_message": lambda port, http: action(
        "discord",
        "send_message",
        {"channel_id": "1", "content": "hi"},
        context("discord", {"botToken": "b", "baseUrl": local(port, "/api/v10")}, http),
    ),
    "notion.query_database": lambda port, http: action(
        "notion", "query_database", {"database_id": "0" * 32}, context("notion", bearer(port, "/v1"), http)
    ),
    "airtable.list_records": lambda port, http: action(
        "airtable",
        "list_records",
        {"base_id": "appABCDEFGHIJKLMN", "table": "T"},
        context("airtable", bearer(port, "/v0"), http),
    ),
    "google_sheets.append_values": lambda port, http: action(
        "google_sheets",
        "append_values",
        {"spreadsheet_id": SHEET, "range": "A1", "values": [[1]]},
        context("google_sheets", bearer(port, "/v4"), http),
    ),
    "google_drive.list_files": lambda port, http: action(
        "google_drive", "list_files", {}, context("google_drive", bearer(port), http)
    ),
    "hubspot.search_contacts": lambda port, http: action(
        "hubspot", "search_contacts", {}, context("hubspot", bearer(port), http)
    ),
    "microsoft_graph.send_mail": lambda port, http: action(
        "microsoft_graph",
        "send_mail",
        {"to": ["a@example.com"], "subject": "s", "body": "b"},
        context("microsoft_graph", bearer(port, "/v1.0"), http),
    ),
}


@pytest.mark.parametrize("name", list(OPENERS))
async def test_no_popular_service_reaches_a_local_listener_with_an_empty_allow_list(
    name: str, listener: Listener
) -> None:
    async with outbound_client(OutboundPolicy()) as http:
        with pytest.raises(ActionError) as raised:
            await OPENERS[name](listener.port, http)
    assert raised.value.type == "BlockedAddress", raised.value.message
    assert raised.value.retryable is False
    assert listener.accepted == 0
    assert BOT not in raised.value.message
    assert HOOK_TOKEN not in raised.value.message
