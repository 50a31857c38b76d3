"""The console's editor in a real browser against the real stack: a workflow's draft as JSON beside its
steps; a step added through the outline and an action configured through the form made from its input
schema; the API's validation error shown on the step its path names; the saved draft run with a payload
and one step tested alone; published with a message; its version diffed against the draft. axe-core finds
no serious or critical violation and no CSP violation happens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from core.settings import Settings
from tests.api.conftest import PASSWORD, served_api, sign_up
from tests.browser import Page, headless_page
from tests.console.test_console_browser import (
    EMAIL,
    WATCH_CSP,
    _accessible,
    _choose,
    _click,
    _screenshot,
    _text_shows,
    _type,
    browser_available,
)

__all__ = ["browser_available"]  # the fixture, used below by name

GREET = [{"id": "greet", "type": "set", "values": {"hello": "{{ trigger.name }}"}}]


async def signed_in(page: Page, origin: str, workspace_name: str) -> None:
    """Signs EMAIL in through the sign-in page, watching for CSP violations from the first document on."""
    await page.call("Page.enable")
    await page.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)
    await page.open(f"{origin}/sign-in")
    await page.wait_for("!!document.querySelector('input[type=email]')")
    await _type(page, "input[type=email]", EMAIL)
    await _type(page, "input[type=password]", PASSWORD)
    await _click(page, "button", "Sign in")
    await _text_shows(page, workspace_name)


async def _definition(page: Page) -> dict[str, Any]:
    return dict(json.loads(await page.evaluate("document.querySelector('#definition').value")))


@pytest.mark.usefixtures("browser_available", "engine_worker")
async def test_edit_save_try_publish_and_diff_a_workflow_in_the_browser(
    settings: Settings, task_queue: str, engine: AsyncEngine
) -> None:
    await seed(engine)  # the catalogue the action picker reads
    wired = settings.model_copy(update={"temporal_task_queue": task_queue})
    async with served_api(wired) as api, headless_page(offline=True) as page:
        headers = await sign_up(api, EMAIL)
        workspace = (await api.post("/api/v1/workspaces", headers=headers, json={"name": "Acme"})).json()
        base = f"/api/v1/workspaces/{workspace['id']}"
        body = {"name": "Greeter", "triggerType": "MANUAL", "triggerConfig": {}, "steps": GREET}
        workflow = (await api.post(f"{base}/workflows", headers=headers, json=body)).json()
        origin = str(api.base_url).rstrip("/")
        await signed_in(page, origin, "Acme")

        await page.open(f"{origin}/w/{workspace['id']}/workflows/{workflow['id']}/edit")
        await page.wait_for("document.querySelector('#definition')?.value.includes('greet')")
        await _accessible(page, "editor")

        # a step added through the outline
        await _choose(page, ".add-step select", "set")
        await _type(page, ".add-step input", "shout")
        await _click(page, "button", "Add set step")
        assert [s["id"] for s in (await _definition(page))["steps"]] == ["greet", "shout"]

        # the API refuses a step reading a step that runs after it: the error is shown on that step
        draft = await _definition(page)
        draft["steps"][1]["values"] = {"loud": "{{ steps.later.output }}"}
        await _choose(page, "#definition", json.dumps(draft))
        await _click(page, "button", "Save draft")
        await page.wait_for("!!document.querySelector('.outline-step.invalid [role=alert]')")
        shown = await page.evaluate("document.querySelector('.outline-step.invalid').innerText")
        assert "shout" in shown
        assert "steps[1]" in shown
        await _screenshot(page, "editor-error")
        draft["steps"][1]["values"] = {"loud": "{{ steps.greet.output.hello | upper }}"}
        await _choose(page, "#definition", json.dumps(draft))
        await _click(page, "button", "Save draft")
        await _text_shows(page, "Saved at")
        saved = (await api.get(f"{base}/workflows/{workflow['id']}", headers=headers)).json()
        assert [s["id"] for s in saved["steps"]] == ["greet", "shout"]

        # the saved draft, run with a payload, then one step alone
        await _choose(page, "#payload", '{"name": "Ada"}')
        await _click(page, "button", "Run the draft")
        await _text_shows(page, '"loud": "ADA"')
        await _choose(page, ".try-it select", "greet")
        await _choose(page, "#context", '{"trigger": {"name": "Bo"}}')
        await _click(page, "button", "Test the step")
        await _text_shows(page, '"hello": "Bo"')
        await _accessible(page, "editor after a run")

        # an action configured through the form made from its input schema
        await _choose(page, ".add-step select", "action")
        await _type(page, ".add-step input", "notify")
        await page.wait_for(
            "[...document.querySelectorAll('.add-step option')].some(o => o.value === 'http')"
        )
        await _choose(page, ".add-step label:nth-of-type(3) select", "http")
        await page.wait_for(
            "[...document.querySelectorAll('.add-step option')].some(o => o.value === 'http.request')"
        )
        await _choose(page, ".add-step label:nth-of-type(4) select", "http.request")
        await page.wait_for("!!document.querySelector('#input-url')")
        await _type(page, "#input-url", "https://hooks.example.com/{{ vars.loud }}")
        await _click(page, "button", "Add action step")
        added = (await _definition(page))["steps"][2]
        assert added == {
            "id": "notify",
            "type": "action",
            "action": "http.request",
            "input": {"url": "https://hooks.example.com/{{ vars.loud }}"},
        }
        await _screenshot(page, "editor")

        # published with a message; its version against the draft (which has the new step)
        await _type(page, ".publish input", "Shouts too")
        await _click(page, "button", "Publish the saved draft")
        await _text_shows(page, "Published version 1")
        await _text_shows(page, "Version 1")
        await _click(page, "button", "Diff with the draft")
        await page.wait_for("!!document.querySelector('.diff .diff-added')")
        assert "http.request" in await page.evaluate("document.querySelector('.diff').innerText")
        await _accessible(page, "versions")
        assert await page.evaluate("window.__cspViolations") == []
