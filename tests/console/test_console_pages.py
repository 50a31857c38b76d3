"""The console's workspace settings pages in a real browser against the real stack: connections (one made
from an integration's credentials form, tested, deleted; an OAuth2 integration offers its Connect link),
webhooks (the URL copied, a new signing secret shown once, a sender's secret set) and API keys (one made with
its scopes and shown once, used, revoked). axe-core finds no serious or critical violation and no CSP
violation happens."""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from core.settings import Settings
from tests.api.conftest import PASSWORD, served_api, sign_up
from tests.api.test_webhooks import webhook_workflow
from tests.browser import Page, headless_page
from tests.console import test_console_browser as console
from tests.console.test_console_browser import browser_available

__all__ = ["browser_available"]  # the fixture, used below by name

CONFIRM = "window.confirm = () => true"  # a native dialog would block the page


async def _signed_in(page: Page, origin: str) -> None:
    await page.call("Page.enable")
    await page.call("Page.addScriptToEvaluateOnNewDocument", source=console.WATCH_CSP)
    await page.open(f"{origin}/sign-in")
    await page.wait_for("!!document.querySelector('input[type=email]')")
    await console._type(page, "input[type=email]", console.EMAIL)
    await console._type(page, "input[type=password]", PASSWORD)
    await console._click(page, "button", "Sign in")
    await console._text_shows(page, "Hooks")


async def _connections(page: Page, api: httpx.AsyncClient, base: str, headers: dict[str, str]) -> None:
    await console._click(page, "a", "Connections")
    await console._text_shows(page, "No connection yet.")
    await page.wait_for(
        "[...document.querySelectorAll('.new-connection option')].some(o => o.value === 'crypto')"
    )
    await console._accessible(page, "connections")

    # an OAuth2 integration connects through its provider's consent page: a link to the authorize route
    await console._type(page, ".new-connection label:nth-of-type(2) input", "Sheets")
    await console._choose(page, ".new-connection select", "google_sheets")
    href = await page.wait_for("document.querySelector('.new-connection a')?.getAttribute('href')")
    assert href.endswith("/connections/oauth/google_sheets/authorize?name=Sheets")
    assert href.startswith(f"{base}/")

    # an API key integration asks for its credentials (the field renamed to what it expects)
    await console._choose(page, ".new-connection select", "crypto")
    await page.wait_for("!!document.querySelector('.credential input[type=password]')")
    await console._type(page, ".new-connection label:nth-of-type(2) input", "Signer")
    await console._type(page, ".credential input:not([type=password])", "secret")
    await console._type(page, ".credential input[type=password]", "a-long-shared-secret-of-32-bytes!")
    await console._click(page, "button", "Create the connection")
    await console._text_shows(page, "Test Signer")
    made = (await api.get(f"{base}/connections", headers=headers)).json()["items"]
    assert [(c["name"], c["integrationId"]) for c in made] == [("Signer", "crypto")]
    assert "a-long-shared-secret" not in await page.evaluate("document.body.innerText")

    await console._click(page, "button", "Test Signer")
    await console._text_shows(page, "· works")
    tested = (await api.get(f"{base}/connections/{made[0]['id']}", headers=headers)).json()
    assert tested["testStatus"] == "SUCCESS"
    await console._screenshot(page, "connections")
    await console._accessible(page, "connections after a test")

    await page.evaluate(CONFIRM)
    await console._click(page, "button", "Delete Signer")
    await console._text_shows(page, "No connection yet.")
    assert (await api.get(f"{base}/connections", headers=headers)).json()["items"] == []


async def _webhooks(page: Page, api: httpx.AsyncClient, hook: dict[str, str]) -> None:
    await console._click(page, "a", "Webhooks")
    await console._text_shows(page, hook["url"])
    await console._text_shows(page, "unsigned · 0 calls")
    await console._accessible(page, "webhooks")
    # what the button writes to the clipboard, kept (a headless browser's clipboard refuses to be read)
    await page.evaluate(
        "navigator.clipboard.writeText = t => { window.__copied = t; return Promise.resolve(); }"
    )
    await console._click(page, "button", "Copy the URL")
    await console._text_shows(page, "Copied")
    assert await page.evaluate("window.__copied") == hook["url"]

    # a new Standard Webhooks secret, shown once: a call signed with it is accepted
    await console._click(page, "button", "New signing secret for Hooked")
    secret = await page.wait_for("document.querySelector('.once code')?.textContent")
    assert secret.startswith("whsec_")
    await console._text_shows(page, "signed (standard)")
    await console._screenshot(page, "webhooks")
    unsigned = await api.post(urlsplit(hook["url"]).path, json={"name": "Ada"})
    assert unsigned.status_code == 401

    # a sender's own secret, in its scheme
    await console._choose(page, ".webhook select", "github")
    await console._type(page, ".webhook input[type=password]", "the-github-webhook-secret")
    await console._click(page, "button", "Set the secret")
    await console._text_shows(page, "Calls are now checked by X-Hub-Signature-256.")
    await console._text_shows(page, "signed (github)")
    await console._accessible(page, "webhooks after a secret")


async def _api_keys(page: Page, api: httpx.AsyncClient) -> None:
    await console._click(page, "a", "API keys")
    await console._text_shows(page, "No API key yet.")
    await console._accessible(page, "API keys")
    await console._type(page, ".new-key input:not([type=checkbox])", "ci")
    await page.evaluate("document.querySelector('.new-key input[value=\"workflows:read\"]').click()")
    await console._click(page, "button", "Create the key")
    key = await page.wait_for("document.querySelector('.once code')?.textContent")
    await console._text_shows(page, "Revoke ci")
    await console._screenshot(page, "api-keys")
    bearer = {"Authorization": f"Bearer {key}"}
    assert (await api.get("/api/v1/me", headers=bearer)).status_code == 200
    await console._accessible(page, "API keys after one is made")

    await page.evaluate(CONFIRM)
    await console._click(page, "button", "Revoke ci")
    await console._text_shows(page, "No API key yet.")
    assert (await api.get("/api/v1/me", headers=bearer)).status_code == 401


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def _members(page: Page, api: httpx.AsyncClient, base: str, headers: dict[str, str]) -> None:
    await sign_up(api, "bo@example.com")
    await console._click(page, "a", "Members")
    await console._text_shows(page, console.EMAIL)
    await console._accessible(page, "members")
    await console._type(page, ".new-member input", "bo@example.com")
    await console._click(page, "button", "Add the member")
    await console._text_shows(page, "Remove bo@example.com")

    async def roles() -> dict[str, str]:
        items = (await api.get(f"{base}/members", headers=headers)).json()["items"]
        return {m["email"]: m["role"] for m in items}

    assert await roles() == {console.EMAIL: "OWNER", "bo@example.com": "MEMBER"}
    await console._choose(page, "select[aria-label='Role of bo@example.com']", "VIEWER")
    viewer = {console.EMAIL: "OWNER", "bo@example.com": "VIEWER"}
    assert await console.eventually(lambda: _is(roles(), viewer)), await roles()
    await console._screenshot(page, "members")
    await console._accessible(page, "members after a change")

    await page.evaluate(CONFIRM)
    await console._click(page, "button", "Remove bo@example.com")
    await page.wait_for("!document.body.innerText.includes('Remove bo@example.com')")
    assert await roles() == {console.EMAIL: "OWNER"}


ROWS = "[...document.querySelectorAll('tbody tr')].map(r => r.cells[2].textContent)"


async def _audit_log(page: Page) -> None:
    """What the pages above changed, in the audit log, filtered as the API filters."""
    await console._click(page, "a", "Audit log")
    await console._text_shows(page, "member.role_changed")
    shown = await page.evaluate(ROWS)
    assert {"connection.created", "connection.deleted", "webhook.secret_rotated", "member.added"} <= {*shown}
    await console._accessible(page, "audit log")
    await console._type(page, ".filters label:nth-of-type(2) input", "connection.deleted")
    await page.wait_for(f"JSON.stringify({ROWS}) === '[\"connection.deleted\"]'")
    await console._type(page, ".filters label:nth-of-type(2) input", "")
    await console._type(page, ".filters label:nth-of-type(1) input", "member")
    await page.wait_for(f"{ROWS}.length === 3 && {ROWS}.every(a => a.startsWith('member.'))")
    await console._screenshot(page, "audit-log")


@pytest.mark.usefixtures("browser_available")
async def test_connections_webhooks_and_api_keys_in_the_browser(
    settings: Settings, engine: AsyncEngine
) -> None:
    await seed(engine)  # the integrations a connection is made from
    async with served_api(settings) as api, headless_page(offline=True) as page:
        base, headers, _, hook = await webhook_workflow(api, email=console.EMAIL)
        origin = str(api.base_url).rstrip("/")
        await _signed_in(page, origin)
        await page.open(
            f"{origin}{base.removeprefix('/api/v1/workspaces')}".replace(origin, f"{origin}/w", 1)
        )
        await console._text_shows(page, "Runs")
        await _connections(page, api, base, headers)
        await _webhooks(page, api, hook)
        await _members(page, api, base, headers)
        await _audit_log(page)
        await _api_keys(page, api)
        assert await page.evaluate("window.__cspViolations") == []
